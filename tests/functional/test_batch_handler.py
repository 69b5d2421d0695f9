"""Per-batch mode and the on-batch-complete hook: bisected on poison, retried on retryable errors."""

from __future__ import annotations

import pytest

from shardsafe import MemoryQuarantine, Record, RetryableError, StreamProcessor, reasons
from tests import factories


def sequence(index: int) -> str:
    return str(factories.FIRST_SEQUENCE + index)


def test_batch_handler_gets_the_valid_records_in_order(quarantine: MemoryQuarantine) -> None:
    batches: list[list[str]] = []
    processor = StreamProcessor(
        batch_handler=lambda records: batches.append([r.data["TICKER"] for r in records]),
        quarantine=quarantine,
        metrics=False,
    )
    event = factories.kinesis_event([factories.tick("A"), b"bad", factories.tick("B")])
    result = processor.process(event)
    assert batches == [["A", "B"]]
    assert len(result.processed) == 2 and len(result.quarantined) == 1


def test_hook_after_record_handler_sees_only_records_it_accepted(quarantine: MemoryQuarantine) -> None:
    def handle(record: Record) -> str:
        if record.data["TICKER"] == "X":
            raise ValueError("no X")
        return record.data["TICKER"].lower()

    seen: list[list[object]] = []
    processor = StreamProcessor(
        handle,
        batch_handler=lambda rs: seen.append([r.result for r in rs]),
        quarantine=quarantine,
        metrics=False,
    )
    processor(factories.kinesis_event([factories.tick("A"), factories.tick("X"), factories.tick("B")]))
    assert seen == [["a", "b"]]


def test_a_poison_failure_is_bisected_down_to_the_records_it_fails_on(quarantine: MemoryQuarantine) -> None:
    calls: list[int] = []

    def batch(records: list[Record]) -> None:
        calls.append(len(records))
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("cannot handle BAD")

    tickers = ["A"] * 5 + ["BAD"] + ["A"] * 8 + ["BAD"] + ["A"]
    processor = StreamProcessor(batch_handler=batch, quarantine=quarantine, metrics=False)
    result = processor.process(factories.kinesis_event([factories.tick(t) for t in tickers]))
    assert result.response == {"batchItemFailures": []}
    assert [e.record["sequenceNumber"] for e in quarantine.envelopes] == [sequence(5), sequence(14)]
    assert {e.reason for e in quarantine.envelopes} == {reasons.HANDLER_ERROR}
    assert len(result.processed) == 14
    assert result.accounting_ok
    assert len(calls) < 2 * len(tickers)


def test_a_retryable_hook_failure_retries_the_processed_records(quarantine: MemoryQuarantine) -> None:
    def output_down(records: list[Record]) -> None:
        raise RetryableError("S3 unavailable")

    processor = StreamProcessor(batch_handler=output_down, quarantine=quarantine, metrics=False)
    result = processor.process(factories.kinesis_event([b"bad", factories.tick("A"), factories.tick("B")]))
    assert result.response == {
        "batchItemFailures": [{"itemIdentifier": sequence(1)}, {"itemIdentifier": sequence(2)}]
    }
    assert len(result.quarantined) == 1 and result.processed == []
    assert result.accounting_ok


def test_a_retryable_hook_failure_without_reporting_is_retried_then_quarantined(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: None)
    attempts: list[int] = []

    def output_down(records: list[Record]) -> None:
        attempts.append(len(records))
        raise RetryableError("S3 unavailable")

    processor = StreamProcessor(
        batch_handler=output_down, report_batch_item_failures=False, quarantine=quarantine, metrics=False
    )
    result = processor.process(factories.kinesis_event(count=3))
    assert attempts == [3, 3, 3]
    assert [e.reason for e in quarantine.envelopes] == [reasons.RETRIES_EXHAUSTED] * 3
    assert result.response == {"batchItemFailures": []}
    assert result.accounting_ok


def test_batch_handler_is_not_called_for_a_batch_without_valid_records(quarantine: MemoryQuarantine) -> None:
    processor = StreamProcessor(
        batch_handler=lambda _: pytest.fail("called"), quarantine=quarantine, metrics=False
    )
    processor(factories.kinesis_event([b"bad"]))
