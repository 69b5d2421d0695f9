"""The results of a run: a JSON file, a chart of µs per record, the targets, and a Markdown table.

``targets`` checks the issue's targets against a run; ``markdown`` is the table printed at the end of
``make bench`` and kept in docs/benchmarks.md, between its markers (``python -m bench --update-docs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cold_start, deaggregation, headline, idempotency, stack_speed, stages

DOCS_PAGE = Path("docs") / "benchmarks.md"
"""Where ``--update-docs`` writes the tables, relative to the repository."""
TABLES_BEGIN = "<!-- bench:begin (written by python -m bench --update-docs) -->"
TABLES_END = "<!-- bench:end -->"
README = Path("README.md")
"""Where ``--update-docs`` also writes the headline table, relative to the repository."""
HEADLINE_BEGIN = "<!-- bench:headline:begin (written by python -m bench --update-docs) -->"
HEADLINE_END = "<!-- bench:headline:end -->"
MAX_VS_FLOOR = 1.15
#: Issue 22's target for the rebuilt core: every clean cell within this of the floor.
MAX_VS_FLOOR_AFTER_RESTRUCTURE = 1.3
MAX_COLD_IMPORT_MS = 30.0
MAX_MEMORY_X_PAYLOAD = 2.0


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def chart(handler_cost: dict[str, Any], path: Path) -> None:
    """µs per record against batch size: one panel per record size and poison rate, a line per contender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = handler_cost["cases"]
    sizes = sorted({case["record_size"] for case in cases})
    rates = sorted({case["poison_rate"] for case in cases})
    names = handler_cost["contenders"]
    figure, axes = plt.subplots(
        len(sizes), len(rates), figsize=(4 * len(rates), 3.2 * len(sizes)), squeeze=False, sharex=True
    )
    for row, size in enumerate(sizes):
        for column, rate in enumerate(rates):
            axis = axes[row][column]
            cell = sorted(
                (case for case in cases if case["record_size"] == size and case["poison_rate"] == rate),
                key=lambda case: case["batch_size"],
            )
            batches = [case["batch_size"] for case in cell]
            for name in names:
                axis.plot(batches, [case["us_per_record"][name] for case in cell], marker="o", label=name)
            axis.set_xscale("log")
            axis.set_ylim(bottom=0)
            axis.set_title(f"{_size(size)} records, {rate:.0%} poison", fontsize=10)
            axis.grid(True, alpha=0.3)
            if column == 0:
                axis.set_ylabel("µs per record (median)")
            if row == len(sizes) - 1:
                axis.set_xlabel("records per batch")
    axes[0][0].legend()
    figure.suptitle(
        "Per-record cost: shardsafe against the floor, a naive loop and Powertools' BatchProcessor"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each of the issue's targets, the measured value, and whether it is met."""
    checks: list[dict[str, Any]] = []
    handler_cost = results.get("handler_cost")
    if handler_cost:
        clean = [case for case in handler_cost["cases"] if case["poison_rate"] == 0]
        worst = max(clean, key=lambda case: case["ratios"]["shardsafe/floor"])
        checks.append(
            {
                "target": f"per record, 0 % poison: <= {MAX_VS_FLOOR}x the floor (the fastest plain loop)",
                "measured": f"worst {worst['ratios']['shardsafe/floor']:.2f}x "
                f"({_size(worst['record_size'])} x {worst['batch_size']})",
                "met": worst["ratios"]["shardsafe/floor"] <= MAX_VS_FLOOR,
            }
        )
        checks.append(
            {
                "target": f"per record, 0 % poison: <= {MAX_VS_FLOOR_AFTER_RESTRUCTURE}x the floor in every cell "
                "(issue 22, after the restructure)",
                "measured": f"worst {worst['ratios']['shardsafe/floor']:.2f}x "
                f"({_size(worst['record_size'])} x {worst['batch_size']})",
                "met": worst["ratios"]["shardsafe/floor"] <= MAX_VS_FLOOR_AFTER_RESTRUCTURE,
            }
        )
        worst = max(handler_cost["cases"], key=lambda case: case["ratios"]["shardsafe/powertools"])
        slower, repetitions = _slower_in(worst, "powertools")
        checks.append(
            {
                "target": "per record: never slower than Powertools",
                "measured": f"worst {worst['ratios']['shardsafe/powertools']:.2f}x "
                f"({_size(worst['record_size'])} x {worst['batch_size']}, {worst['poison_rate']:.0%} poison; "
                f"slower in {slower} of {repetitions} repetitions)",
                "met": worst["ratios"]["shardsafe/powertools"] <= 1.0,
            }
        )
    model = results.get("model_cost")
    if model:
        clean = [case for case in model["cases"] if case["poison_rate"] == 0]
        worst = max(clean, key=lambda case: case["ratios"]["shardsafe/powertools"])
        checks.append(
            {
                "target": "per record with a pydantic model, 0 % poison: never slower than Powertools' parser",
                "measured": f"worst {worst['ratios']['shardsafe/powertools']:.2f}x "
                f"({_size(worst['record_size'])} x {worst['batch_size']}; "
                f"{worst['ratios']['shardsafe/floor']:.2f}x the floor)",
                "met": worst["ratios"]["shardsafe/powertools"] <= 1.0,
            }
        )
    cold = results.get("cold_start")
    if cold:
        ours = cold["contenders"]["shardsafe (tracing off)"]["import_ms"]
        theirs = cold["contenders"]["powertools batch"]["import_ms"]
        checks.append(
            {
                "target": f"cold start, tracing off: import < {MAX_COLD_IMPORT_MS:.0f} ms and a fraction of Powertools'",
                "measured": f"{ours:.1f} ms, {ours / theirs:.2f}x Powertools' {theirs:.1f} ms",
                "met": ours < MAX_COLD_IMPORT_MS and ours < theirs,
            }
        )
    memory = results.get("memory")
    if memory:
        ours = memory["contenders"]["shardsafe"]
        checks.append(
            {
                "target": f"memory, {memory['batch_size']:,} x {_size(memory['record_size'])}: peak RSS growth "
                f"< {MAX_MEMORY_X_PAYLOAD:.0f}x the payload",
                "measured": f"{ours['rss_growth_bytes'] / 2**20:.0f} MiB, "
                f"{ours['rss_growth_x_payload']:.2f}x the {memory['payload_bytes'] / 2**20:.0f} MiB payload",
                "met": ours["rss_growth_x_payload"] < MAX_MEMORY_X_PAYLOAD,
            }
        )
    if results.get("latency"):
        checks += stack_speed.targets(results["latency"])
    if results.get("idempotency"):
        checks += idempotency.targets(results["idempotency"])
    return checks


def markdown(results: dict[str, Any]) -> str:
    """Every measurement of a run as Markdown tables (only the parts the run measured)."""
    parts = [_meta(results["meta"])]
    if results.get("handler_cost"):
        parts.append(_handler_table(results["handler_cost"]))
    if results.get("stages"):
        parts.append(stages.table(results["stages"]))
    if results.get("model_cost"):
        parts.append(_model_table(results["model_cost"]))
    if results.get("mutation_safety"):
        parts.append(_mutation_table(results["mutation_safety"]))
    if results.get("cold_start"):
        parts.append(_cold_table(results["cold_start"]))
    if results.get("deaggregation"):
        parts.append(deaggregation.table(results["deaggregation"]))
    if results.get("memory"):
        parts.append(_memory_table(results["memory"]))
    if results.get("e2e"):
        parts.append(_e2e_table(results["e2e"]))
    if results.get("latency"):
        parts.append(speed_tables(results["latency"]))
    if results.get("headline"):
        parts.append(headline_table(results["headline"]))
    if results.get("idempotency"):
        parts.append(idempotency.table(results["idempotency"]))
    checks = results.get("targets") or []
    if checks:
        rows = [
            f"| {c['target']} | {c['measured']} | {'met' if c['met'] else '**missed**'} |" for c in checks
        ]
        parts.append("\n".join(["| target | measured | |", "| --- | --- | --- |", *rows]))
    return "\n\n".join(parts) + "\n"


def update_docs(page: Path, table: str, begin: str = TABLES_BEGIN, end: str = TABLES_END) -> None:
    """Replace what is between the ``begin`` and ``end`` markers of ``page`` (by default the bench
    markers of docs/benchmarks.md) with ``table``."""
    text = page.read_text()
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{page} has no {begin!r} ... {end!r} block: add one where the tables go")
    page.write_text(pattern.sub(lambda _: f"{begin}\n{table}{end}", text))


# --- the tables ---


def _meta(meta: dict[str, Any]) -> str:
    return (
        f"Run of {meta['date']} at commit `{meta['commit']}`: Python {meta['python']}, "
        f"aws-lambda-powertools {meta['powertools']}, {meta['cpus']} CPUs, "
        f"load average {meta['load_average']} at the start."
    )


def _handler_table(handler_cost: dict[str, Any]) -> str:
    rows = [
        "Per record (µs, median of the repetitions; ratios are medians of per-repetition ratios). The floor "
        "is the fastest plain loop doing the same work (the C base64 decoder and JSON scanner called "
        "directly); naive is the same loop as most people write it (`json.loads(base64.b64decode(data))`):",
        "",
        "| record | batch | poison | floor | naive | shardsafe | Powertools | shardsafe / floor "
        "| shardsafe / Powertools |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in handler_cost["cases"]:
        us = case["us_per_record"]
        ratios = case["ratios"]
        rows.append(
            f"| {_size(case['record_size'])} | {case['batch_size']:,} | {case['poison_rate']:.0%} "
            f"| {us['floor']:.2f} | {us['naive']:.2f} | {us['shardsafe']:.2f} | {us['powertools']:.2f} "
            f"| {ratios['shardsafe/floor']:.2f}x | {ratios['shardsafe/powertools']:.2f}x |"
        )
    return "\n".join(rows)


def _model_table(model: dict[str, Any]) -> str:
    rows = [
        "Per record with a pydantic model (µs, median of the repetitions; "
        f"{model['model']}). The floor is base64 and pydantic's `model_validate_json` on the bytes; shardsafe "
        "is `StreamProcessor(handle, model=Tick)`; Powertools is its batch utility with its parser models "
        "(`data: Json[Tick]`), as its documentation configures them:",
        "",
        "| record | batch | poison | floor | shardsafe | Powertools parser | shardsafe / floor | shardsafe / Powertools |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in model["cases"]:
        us = case["us_per_record"]
        ratios = case["ratios"]
        rows.append(
            f"| {_size(case['record_size'])} | {case['batch_size']:,} | {case['poison_rate']:.0%} "
            f"| {us['floor']:.2f} | {us['shardsafe']:.2f} | {us['powertools']:.2f} "
            f"| {ratios['shardsafe/floor']:.2f}x | {ratios['shardsafe/powertools']:.2f}x |"
        )
    return "\n".join(rows)


def _mutation_table(safety: dict[str, Any]) -> str:
    """What keeps a handler's changes from reaching what is kept, per record (docs/handler.md explains)."""
    rows = [
        f"What a handler may change, and what that costs (thread CPU µs per record, {_size(safety['record_size'])} "
        f"records, batches of {safety['batch_size']}, median of {safety['repetitions']} interleaved repetitions; "
        "the unsafe runs switch a safeguard off, for comparison only):",
        "",
        "| run | µs/record |",
        "| --- | ---: |",
        *(f"| {run} | {us:.2f} |" for run, us in safety["cpu_us_per_record"].items()),
        "",
        "| safeguard | costs per record |",
        "| --- | ---: |",
        *(f"| {what} | {us:+.2f} µs |" for what, us in safety["costs_us_per_record"].items()),
    ]
    return "\n".join(rows)


def _cold_table(cold: dict[str, Any]) -> str:
    rows = [
        f"Cold start (ms, median of {cold['samples']} fresh interpreters; {cold['handler']}):",
        "",
        "| contender | import | first batch | import + first batch |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, result in cold["contenders"].items():
        first = result["first_batch_ms"]
        rows.append(
            f"| {name} | {result['import_ms']:.1f} | {'—' if first is None else f'{first:.1f}'} "
            f"| {result['cold_ms']:.1f} |"
        )
    poison = cold.get("first_poison")
    if poison:
        rows += [
            "",
            f"{cold_start.first_poison_line(poison)}: shardsafe's handler (tracing off) on a batch of "
            f"{poison['batch']}, cold less warm, after a clean first batch; median of {cold['samples']} fresh "
            "interpreters with only the packages Lambda's runtime has, SQS answering in memory (no network time).",
        ]
    return "\n".join(rows)


def _memory_table(memory: dict[str, Any]) -> str:
    payload = memory["payload_bytes"]
    rows = [
        f"Memory ({memory['batch_size']:,} records of {_size(memory['record_size'])}, payload "
        f"{payload / 2**20:.0f} MiB; growth while processing, the event itself not counted):",
        "",
        "| contender | peak RSS growth | x payload | Python heap peak |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, result in memory["contenders"].items():
        rows.append(
            f"| {name} | {result['rss_growth_bytes'] / 2**20:.1f} MiB | {result['rss_growth_x_payload']:.2f}x "
            f"| {result['heap_peak_bytes'] / 2**20:.1f} MiB |"
        )
    return "\n".join(rows)


def _e2e_table(e2e: dict[str, Any]) -> str:
    rows = [
        f"End to end on LocalStack (batch size {e2e['batch_size']}, records of {_size(e2e['record_size'])}, "
        f"median of {e2e['repetitions']} runs): throughput of a burst of {e2e['records']:,} records; latency "
        f"from PutRecords to processed of {e2e['paced']} records put at {e2e['paced_rate']:.0f}/s, and of the "
        "burst (mostly time queued):",
        "",
        "| shards | contender | records/s | p50 | p99 | burst p50 | burst p99 |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in e2e["summary"]:
        rows.append(
            f"| {row['shards']} | {row['contender']} | {row['records_per_second']:.0f} "
            f"| {row['p50_ms']:.0f} ms | {row['p99_ms']:.0f} ms "
            f"| {row['burst_p50_ms']:.0f} ms | {row['burst_p99_ms']:.0f} ms |"
        )
    return "\n".join(rows)


def speed_tables(speed: dict[str, Any]) -> str:
    """The embedded LocalStack's warm invocation latency and throughput, each target met or missed."""
    invoke, get_function = speed["latency"]["invoke"], speed["latency"]["get_function"]
    warm_met = invoke["p50_ms"] <= stack_speed.MAX_WARM_P50_MS
    rows = [
        f"The embedded LocalStack (`shardsafe_localstack.latency`): {speed['latency']['count']} warm "
        "invocations of a function that returns at once, and GetFunction as often (what any API call costs):",
        "",
        "| call | p50 | p99 | target | |",
        "| --- | ---: | ---: | --- | --- |",
        f"| warm Invoke | {invoke['p50_ms']:.1f} ms | {invoke['p99_ms']:.1f} ms "
        f"| p50 <= {stack_speed.MAX_WARM_P50_MS:.0f} ms | {_met(warm_met)} |",
        f"| GetFunction | {get_function['p50_ms']:.1f} ms | {get_function['p99_ms']:.1f} ms | | |",
        "",
        f"Records a second, {speed['records']:,} records of a few bytes per stream: put to processed (the "
        "mapping reading while they are put), PutRecords alone (the stream's intake, nothing reading) and "
        "the mapping alone (a prefilled shard drained, from its first batch to its last):",
        "",
        "| shards | batch size | put to processed | PutRecords alone | the mapping alone | target | |",
        "| ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for entry in speed["rows"]:
        target, verdict = "", ""
        if (entry["shards"], entry["batch_size"]) == (stack_speed.TARGET_SHARDS, stack_speed.TARGET_BATCH):
            met = entry["records_per_s"] >= stack_speed.MIN_ONE_SHARD_RECORDS_PER_S
            target = f">= {stack_speed.MIN_ONE_SHARD_RECORDS_PER_S:,.0f}/s"
            verdict = _met(met) + ("" if met else f": {stack_speed.held_back_by(entry)}")
        drain = entry["drain_per_s"]
        rows.append(
            f"| {entry['shards']} | {entry['batch_size']:,} | {entry['records_per_s']:,.0f}/s "
            f"| {entry['intake_per_s']:,.0f}/s | {'—' if drain is None else f'{drain:,.0f}/s'} "
            f"| {target} | {verdict} |"
        )
    return "\n".join(rows)


def headline_table(result: dict[str, Any]) -> str:
    """One poison record in a steady load on one shard: the contenders side by side (medians of runs)."""
    rows_by = {row["contender"]: row for row in result["summary"]}
    names = list(rows_by)
    settings = result["settings"]
    lines = [
        f"One poison record in a steady load of {result['records']:,} records of "
        f"{_size(result['record_size'])} at {result['rate']:.0f}/s on one shard, on the embedded LocalStack "
        f"with bisect on error {'emulated' if result['bisect'] else 'off'} and the module's mapping "
        f"(batch size {settings['batch_size']}, bisect on, {settings['maximum_retry_attempts']} retries, "
        f"partial batch responses, S3 on-failure destination); the poison raises in the record handler. "
        f"Median of {result['repetitions']} run(s):",
        "",
        "| | " + " | ".join(headline.LABELS[name] for name in names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    measures: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("shard stall: the record after the poison, beyond normal", lambda r: _ms_or_na(r["stall_ms"], "+")),
        ("the record after the poison, put to done", lambda r: _ms_or_na(r["after_poison_ms"])),
        ("normal latency (records done before the poison was put)", lambda r: _ms_or_na(r["normal_ms"])),
        ("invocations that held the poison", lambda r: _count(r["poison_invocations"])),
        (
            "the function's time in those invocations",
            lambda r: _ms_or_na(r["poison_invocations_ms"]),
        ),
        ("records delivered again (retries)", lambda r: _count(r["extra_deliveries"])),
        (
            "good records given up on: in the on-failure destination",
            lambda r: f"{_count(r['good_on_failure'])} of {r['good']:,}",
        ),
        ("good records unaccounted for", lambda r: _count(r["good_missing"])),
        (
            "the poison record ends",
            lambda r: (
                ", ".join(r["poison_places"])
                + (", its bytes kept" if r["poison_bytes_kept"] else ", **its bytes not found**")
            ),
        ),
    ]
    for label, cell in measures:
        lines.append(f"| {label} | " + " | ".join(cell(rows_by[name]) for name in names) + " |")
    if not all(row["settled"] for row in result["summary"]):
        lines += [
            "",
            "**Some runs did not settle before their deadline: records were still unaccounted for.**",
        ]
    return "\n".join(lines)


def readme_headline(results: dict[str, Any]) -> str:
    """What ``--update-docs`` puts between the README's headline markers: the table and its run."""
    return f"{headline_table(results['headline'])}\n\n{_meta(results['meta'])}\n"


def _met(met: bool) -> str:
    return "met" if met else "**missed**"


def _ms_or_na(value: float | None, sign: str = "") -> str:
    return "n/a" if value is None else f"{value:{sign},.0f} ms"


def _count(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _slower_in(case: dict[str, Any], other: str) -> tuple[int, int]:
    """In how many repetitions of a cell shardsafe took longer than ``other``, and of how many."""
    pairs = list(
        zip(case["samples_us_per_record"]["shardsafe"], case["samples_us_per_record"][other], strict=True)
    )
    return sum(ours > theirs for ours, theirs in pairs), len(pairs)


def _size(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"
