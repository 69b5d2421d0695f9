"""Per-record cost of typed records: validating each record with a pydantic model, shardsafe against
Powertools' parser with the same model, on the handler part's events and clock (bench/handler_cost.py).

The model is bench/functions/tick_model.py's ``Tick`` (the tick and its order lines), and each contender
runs the same business on the validated instance:

- ``floor``: the fastest plain code for that work: strict base64 (C ``binascii``) and pydantic's own
  ``Tick.model_validate_json`` on the bytes (its Rust JSON parser straight into validation, the fastest
  way pydantic offers), a record that fails listed as a batch-item failure;
- ``shardsafe``: ``StreamProcessor(handle, model=Tick)``: shardsafe's strict, bounded JSON decoder, then
  ``Tick.model_validate`` on the object; poison quarantined (in-memory SQS, as in the handler part);
- ``powertools``: bench/functions/powertools_model_handler.py, Powertools' batch utility with its parser
  models as its documentation configures them (``data: Json[Tick]`` on ``KinesisDataStreamRecordPayload``,
  ``BatchProcessor(..., model=...)``, ``process_partial_response``).

Poison is the handler part's (JSON cut short by a byte); every contender must set aside the same records.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from typing import Any

from bench import contenders, handler_cost

CONTENDERS = ("floor", "shardsafe", "powertools")
RECORD_SIZES = (100, 1024, 10240)
BATCH_SIZES = (100, 1000)
POISON_RATES = (0.0, 0.1)


def floor() -> contenders.Handler:
    """base64 and ``model_validate_json``: the least work that validates each record with the model."""
    from bench.functions.tick_model import Tick, business

    a2b_base64 = binascii.a2b_base64
    validate_json = Tick.model_validate_json

    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            kinesis = record["kinesis"]
            try:
                business(validate_json(a2b_base64(kinesis["data"], strict_mode=True)))
            except Exception:
                failures.append({"itemIdentifier": kinesis["sequenceNumber"]})
        return {"batchItemFailures": failures}

    return handler


def shardsafe(quarantine: contenders.MemorySqsClient) -> contenders.Handler:
    """``StreamProcessor(model=Tick)`` as a user deploys it, its quarantine in memory (bench/contenders.py)."""
    from bench.functions.tick_model import Tick, business
    from shardsafe import KinesisRecord, MemoryMetrics, SqsQuarantine, StreamProcessor

    def handle(record: KinesisRecord[Tick]) -> float:
        return business(record.data)

    sink = SqsQuarantine(contenders.QUEUE_URL, client=quarantine)
    return StreamProcessor(handle, model=Tick, quarantine=sink, metrics=MemoryMetrics(), tracing=False)


def powertools() -> contenders.Handler:
    from bench.functions.powertools_model_handler import lambda_handler

    return lambda_handler


def make(name: str, quarantine: contenders.MemorySqsClient) -> contenders.Handler:
    """A fresh contender of CONTENDERS."""
    if name == "shardsafe":
        return shardsafe(quarantine)
    factories: dict[str, Callable[[], contenders.Handler]] = {"floor": floor, "powertools": powertools}
    try:
        return factories[name]()
    except KeyError:
        raise ValueError(f"unknown model contender {name!r}: choose from {', '.join(CONTENDERS)}") from None


def measure(
    record_sizes: Sequence[int] = RECORD_SIZES,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    poison_rates: Sequence[float] = POISON_RATES,
    *,
    repetitions: int = 7,
    min_records: int = 1000,
    min_total_records: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The grid, each cell as :func:`bench.handler_cost.measure_case` measures it."""
    cases = handler_cost.measure_grid(
        record_sizes,
        batch_sizes,
        poison_rates,
        repetitions=repetitions,
        min_records=min_records,
        min_total_records=min_total_records,
        progress=progress,
        names=CONTENDERS,
        make=make,
        label=", model",
    )
    return {
        "contenders": list(CONTENDERS),
        "model": "bench/functions/tick_model.py: Tick (EVENT_TIME, TICKER, PRICE, LINES: list[Line])",
        "clock": "time.perf_counter_ns (wall); cpu_* from time.thread_time_ns",
        "cases": cases,
    }
