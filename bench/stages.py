"""Where the time of a clean record goes: shardsafe's per-record cost taken apart, stage by stage.

On the per-record part's events (Kinesis, JSON stock ticks, no poison), each step a clean record goes
through is timed on its own, as a loop over the batch's records, with the thread's CPU time, the
fastest of the repetitions, interleaved; the steps then add up to (about) the whole processor's time:

- ``floor``: the fastest plain loop for the same work (``bench/functions/floor_handler.py``);
- ``read_event``: which source each record is (once per batch);
- ``expand``: looking for KPL aggregates (one ``startswith`` on each record's base64);
- ``extract``: the record's base64 read (``KinesisSource.extract``);
- ``decode``: the bytes to a JSON object (the strict JSON decoder, its bounds and checks);
- ``record``: the :class:`~shardsafe.KinesisRecord` handed to the handler;
- ``handler``: the user's function (the bench's, as in the per-record part: one call into ``business``);
- ``run_loop``: the loop around each record (the deadline's clock read, its cell);
- ``batch``: what a batch costs once (the summary line, metrics, the response), per record.

``python -m bench --only stages`` prints it; docs/benchmarks.md keeps a run of it ("Where the time
goes") beside the per-record tables, which it explains.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from bench import contenders, events

STEPS = ("read_event", "expand", "extract", "decode", "record", "handler", "run_loop", "batch")


def _fastest(function: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time_ns()
        function()
        best = min(best, time.thread_time_ns() - started)
    return best


def measure(record_size: int = 100, batch_size: int = 1000, *, repetitions: int = 15) -> dict[str, Any]:
    """ns of CPU time per clean record for the floor, the whole processor and each step."""
    from shardsafe.core.policy import Deadline
    from shardsafe.core.run import Invocation
    from shardsafe.core.sources import kpl, read_event
    from shardsafe.core.sources.kinesis import KinesisRecord
    from shardsafe.core.telemetry.observer import Observer

    event = events.kinesis_event(batch_size, record_size, 0.0)
    raws = event["Records"]
    processor = contenders.shardsafe()
    floor = contenders.floor()
    context = contenders.LambdaContext()
    source = read_event(event, processor._sources)
    assert not isinstance(source, str)
    kinesis = source.source
    assert kinesis is not None
    extract, decode = kinesis.extract, processor._decode
    payloads = [extract(raw) for raw in raws]
    datas = [decode(payload) for payload in payloads]
    records = [
        KinesisRecord(raw, payload, data) for raw, payload, data in zip(raws, payloads, datas, strict=True)
    ]
    handle = processor._handle
    assert handle is not None
    attempt = processor._attempt_for(kinesis)

    def run_loop_and_attempts() -> None:
        batch = read_event(event, processor._sources)
        assert not isinstance(batch, str)
        run = Invocation(
            processor.policy, Observer(context, None), Deadline(context), batch, keep=False, collect=False
        )
        run.run_records(processor._attempt_for, batch.source)

    def attempts() -> None:
        for raw in raws:
            attempt(raw)

    timed: dict[str, Callable[[], object]] = {
        "floor": lambda: floor(event, context),
        "whole": lambda: processor(event, context),
        "read_event": lambda: read_event(event, processor._sources),
        "expand": lambda: kpl.expand(source),
        "extract": lambda: [extract(raw) for raw in raws],
        "decode": lambda: [decode(payload) for payload in payloads],
        "record": lambda: [
            KinesisRecord(raw, payload, data)
            for raw, payload, data in zip(raws, payloads, datas, strict=True)
        ],
        "handler": lambda: [handle(record) for record in records],
        "attempts": attempts,
        "loop_and_attempts": run_loop_and_attempts,
        "listing": lambda: [raw for raw in raws],  # what a list comprehension itself costs, taken out above
    }
    best: dict[str, float] = dict.fromkeys(timed, float("inf"))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        for function in timed.values():  # warm up
            function()
        for _ in range(repetitions):
            for name, function in timed.items():
                best[name] = min(best[name], _fastest(function, 3))
    per = {name: value / batch_size for name, value in best.items()}
    listing = per["listing"]
    steps = {
        "read_event": per["read_event"],
        "expand": per["expand"],
        "extract": per["extract"] - listing,
        "decode": per["decode"] - listing,
        "record": per["record"] - listing,
        "handler": per["handler"] - listing,
    }
    steps["run_loop"] = per["loop_and_attempts"] - per["attempts"] - per["read_event"]
    steps["batch"] = per["whole"] - per["loop_and_attempts"] - per["expand"]
    return {
        "record_size": record_size,
        "batch_size": batch_size,
        "repetitions": repetitions,
        "clock": "time.thread_time_ns, fastest of the repetitions",
        "floor_ns": per["floor"],
        "whole_ns": per["whole"],
        "attempt_ns": per["attempts"],
        "steps_ns": steps,
    }


def table(result: dict[str, Any]) -> str:
    """The steps as a Markdown table, each against the floor."""
    floor, whole = result["floor_ns"], result["whole_ns"]
    rows = [
        f"Where the time of a clean {result['record_size']} B record goes (ns of CPU time per record, batches of "
        f"{result['batch_size']:,}, the fastest of {result['repetitions']} interleaved repetitions): the floor takes "
        f"{floor:.0f} ns, shardsafe {whole:.0f} ns ({whole / floor:.2f}x).",
        "",
        "| step | ns per record | share of shardsafe's time |",
        "| --- | ---: | ---: |",
        *(
            f"| {step.replace('_', ' ')} | {result['steps_ns'][step]:.0f} | {result['steps_ns'][step] / whole:.0%} |"
            for step in STEPS
        ),
        f"| (the steps added up) | {sum(result['steps_ns'].values()):.0f} | |",
    ]
    return "\n".join(rows)
