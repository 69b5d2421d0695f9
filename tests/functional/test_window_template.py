"""The tumbling-window template users copy: its final write holds the whole window, also when the final
batch is split in parts to find a record the aggregation fails on (each part writes the running total
to one key, so the last write wins with every good record counted)."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest
from shardsafe_harness import paths

from shardsafe import KinesisRecord, MemoryQuarantine, StreamProcessor, TumblingWindow, reasons
from tests import factories
from tests.functional.test_windows import windowed

TEMPLATE = paths.TEMPLATES / "window_handler.py"


class FakeS3:
    def __init__(self) -> None:
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.writes.append((Key, json.loads(Body)))
        return {}


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shardsafe_window_template", TEMPLATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    monkeypatch.setattr(module, "_client", FakeS3())
    return module


def keyed(partition_key: str, ticker: str = "AMZN") -> dict[str, Any]:
    record = factories.kinesis_record(factories.tick(ticker))
    record["kinesis"]["partitionKey"] = partition_key
    return record


def test_a_final_batch_split_by_a_record_the_aggregation_fails_on_still_writes_every_good_record(
    template: ModuleType,
) -> None:
    """The user's aggregation (the template's, plus a rule that refuses one ticker) on a final invocation."""

    def aggregate(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, object]:
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("cannot aggregate BAD")
        result: dict[str, object] = template.aggregate(window, records)
        return result

    quarantine = MemoryQuarantine()
    processor = StreamProcessor(
        validate=template.STOCK_TICK, window_handler=aggregate, quarantine=quarantine, metrics=False
    )
    tickers = ["A", "A", "B", "A", "B", "A", "BAD", "A"]
    event = windowed([], {"counts": {"A": 5}, "batches": 1}, final=True)
    event["Records"] = [keyed(f"pk-{ticker}", ticker) for ticker in tickers]
    for index, record in enumerate(event["Records"]):
        record["kinesis"]["sequenceNumber"] = str(
            49590338271490256608559692538361571095921575989136588800 + index
        )

    response = processor(event, factories.FakeContext())

    assert response["batchItemFailures"] == []
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.record["sequenceNumber"]) == (
        reasons.HANDLER_ERROR,
        event["Records"][6]["kinesis"]["sequenceNumber"],
    )
    writes = template._client.writes
    assert len(writes) > 1, "the split final batch writes once per part that succeeds"
    assert {key for key, _ in writes} == {f"windows/{factories.SHARD_ID}/{event['window']['start']}.json"}
    _, last = writes[-1]
    assert last["counts"] == {"A": 5, "pk-A": 5, "pk-B": 2}, "the last write counts every good record"
