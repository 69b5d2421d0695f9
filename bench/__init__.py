"""shardsafe's benchmarks: what isolation costs per record, at cold start, in memory and end to end.

Run them all with ``make bench`` (or ``python -m bench``); results go to ``build/bench/``. Each
module measures one thing and returns plain dicts, so the runner, the report and the smoke test
(``tests/bench/test_bench_smoke.py``) share them. Absolute times on a shared machine are noise:
every comparison is made in one run, contenders interleaved, and reported as ratios of medians.
"""
