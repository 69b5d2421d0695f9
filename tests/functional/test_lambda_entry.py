"""The Lambda entry point lets each record's data go once its handler returns; process() keeps it all."""

from __future__ import annotations

import weakref

from shardsafe import MemoryMetrics, MemoryQuarantine, Record, StreamProcessor
from tests import factories


class Tick:
    """A decoded value that can be watched with a weak reference (a dict cannot)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Watch:
    """Counts the decoded values still alive when the batch's metrics are written (at its very end)."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Tick]] = []
        self.alive_at_end: int | None = None

    def decode(self, payload: bytes) -> Tick:
        if payload == b"bad":
            raise ValueError("not a tick")
        tick = Tick(payload)
        self.refs.append(weakref.ref(tick))
        return tick

    def record_batch(self, **counts: object) -> None:
        self.alive_at_end = sum(ref() is not None for ref in self.refs)


def test_lambda_entry_without_batch_handler_does_not_hold_decoded_records_to_the_end() -> None:
    watch = Watch()
    processor = StreamProcessor(
        lambda record: None, decode=watch.decode, quarantine=MemoryQuarantine(), metrics=watch
    )

    assert processor(factories.kinesis_event(count=5)) == {"batchItemFailures": []}
    assert len(watch.refs) == 5
    assert watch.alive_at_end == 0


def test_process_keeps_every_record_with_its_data() -> None:
    watch = Watch()
    processor = StreamProcessor(
        lambda record: None, decode=watch.decode, quarantine=MemoryQuarantine(), metrics=watch
    )

    result = processor.process(factories.kinesis_event(count=5))

    assert watch.alive_at_end == 5
    assert [type(record.data) for record in result.processed] == [Tick] * 5


def test_records_the_handler_keeps_keep_their_data() -> None:
    kept: list[Record] = []
    processor = StreamProcessor(kept.append, quarantine=MemoryQuarantine(), metrics=False)

    processor(factories.kinesis_event(count=3))

    assert [record.data["TICKER"] for record in kept] == ["AMZN"] * 3


def test_lambda_entry_still_accounts_for_every_record() -> None:
    metrics, quarantine = MemoryMetrics(), MemoryQuarantine()
    processor = StreamProcessor(lambda record: None, quarantine=quarantine, metrics=metrics)

    processor(factories.kinesis_event([factories.tick(), b"bad", factories.tick(), factories.tick()]))

    assert metrics.batches[0]["RecordsProcessed"] == 3
    assert metrics.batches[0]["RecordsQuarantined"] == 1
    assert len(quarantine.envelopes) == 1


def test_lambda_entry_with_batch_handler_hands_it_every_decoded_record() -> None:
    seen: list[str] = []
    processor = StreamProcessor(
        batch_handler=lambda records: seen.extend(record.data["TICKER"] for record in records),
        quarantine=MemoryQuarantine(),
        metrics=False,
    )

    processor(factories.kinesis_event([factories.tick("A"), factories.tick("B")]))

    assert seen == ["A", "B"]
