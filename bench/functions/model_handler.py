"""shardsafe with a pydantic model (``model=Tick``): the handler gets each record's validated Tick."""

from __future__ import annotations

from shardsafe import KinesisRecord, StreamProcessor

try:  # deployed (the cold start): tick_model.py is beside this file
    from tick_model import Tick, business
except ImportError:  # in process (bench/model_cost.py)
    from bench.functions.tick_model import Tick, business


def handle(record: KinesisRecord[Tick]) -> float:
    return business(record.data)


lambda_handler = StreamProcessor(handle, model=Tick, metrics=False, tracing=False)
