"""Retryable failures: batch-item failures from the failing record on, or in-process retries then quarantine."""

from __future__ import annotations

from typing import Any

import pytest

from shardsafe import (
    BatchIncompleteError,
    ConfigurationError,
    MemoryQuarantine,
    Record,
    RetryableError,
    StreamProcessor,
    reasons,
)
from tests import factories


class Throttled(Exception):
    """A downstream error the user marks as retryable."""


class Flaky:
    """Raises ``error`` for the records whose TICKER is listed, ``failures`` times each."""

    def __init__(self, error: Exception, tickers: set[str], failures: int = 1_000) -> None:
        self.error, self.tickers, self.failures = error, tickers, failures
        self.calls: list[str] = []
        self.failed: dict[str, int] = {}

    def __call__(self, record: Record) -> None:
        ticker = record.data["TICKER"]
        self.calls.append(ticker)
        if ticker in self.tickers and self.failed.get(ticker, 0) < self.failures:
            self.failed[ticker] = self.failed.get(ticker, 0) + 1
            raise self.error


def ticks(*tickers: str) -> dict[str, Any]:
    return factories.kinesis_event([factories.tick(ticker) for ticker in tickers])


def sequence(index: int) -> str:
    return str(factories.FIRST_SEQUENCE + index)


def test_retryable_error_reports_that_record_and_the_rest_as_batch_item_failures(
    quarantine: MemoryQuarantine,
) -> None:
    handler = Flaky(RetryableError("throttled"), {"C"})
    processor = StreamProcessor(handler, quarantine=quarantine, metrics=False)
    result = processor.process(ticks("A", "B", "C", "D", "E"))
    assert result.response == {"batchItemFailures": [{"itemIdentifier": sequence(i)} for i in (2, 3, 4)]}
    assert handler.calls == ["A", "B", "C"]  # order kept: nothing after C ran
    assert (len(result.processed), len(result.quarantined), len(result.item_failures)) == (2, 0, 3)
    assert result.accounting_ok


def test_exception_types_marked_retryable_are_retried(quarantine: MemoryQuarantine) -> None:
    processor = StreamProcessor(
        Flaky(Throttled(), {"A"}), retryable=[Throttled], quarantine=quarantine, metrics=False
    )
    assert processor(ticks("A", "B")) == {
        "batchItemFailures": [{"itemIdentifier": sequence(0)}, {"itemIdentifier": sequence(1)}]
    }


def test_unmarked_exception_is_poison_not_retryable(quarantine: MemoryQuarantine) -> None:
    processor = StreamProcessor(Flaky(Throttled(), {"A"}), quarantine=quarantine, metrics=False)
    assert processor(ticks("A", "B")) == {"batchItemFailures": []}
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.HANDLER_ERROR]


def test_poison_before_a_retryable_record_is_quarantined_not_retried(quarantine: MemoryQuarantine) -> None:
    event = factories.kinesis_event([b"bad", factories.tick("R"), factories.tick("S")])
    processor = StreamProcessor(Flaky(RetryableError(), {"R"}), quarantine=quarantine, metrics=False)
    result = processor.process(event)
    assert [envelope.record["sequenceNumber"] for envelope in quarantine.envelopes] == [sequence(0)]
    assert result.item_failures == [sequence(1), sequence(2)]


def test_without_report_batch_item_failures_a_record_is_retried_in_process(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: None)
    handler = Flaky(RetryableError(), {"B"}, failures=2)
    processor = StreamProcessor(
        handler, report_batch_item_failures=False, retry_attempts=2, quarantine=quarantine, metrics=False
    )
    result = processor.process(ticks("A", "B", "C"))
    assert result.response == {"batchItemFailures": []}
    assert handler.calls == ["A", "B", "B", "B", "C"]
    assert len(result.processed) == 3 and quarantine.envelopes == []


def test_without_report_batch_item_failures_exhausted_retries_are_quarantined(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", sleeps.append)
    processor = StreamProcessor(
        Flaky(RetryableError("still throttled"), {"B"}),
        report_batch_item_failures=False,
        retry_attempts=3,
        retry_delay=0.1,
        quarantine=quarantine,
        metrics=False,
    )
    result = processor.process(ticks("A", "B", "C"), factories.FakeContext())
    assert result.response == {"batchItemFailures": []}
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.error_message) == (reasons.RETRIES_EXHAUSTED, "still throttled")
    assert sleeps == [0.1, 0.2, 0.4]
    assert (len(result.processed), len(result.quarantined), len(result.item_failures)) == (2, 1, 0)


def test_in_process_retries_stop_when_the_invocation_is_out_of_time_and_hand_the_record_back(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No time for a retry is no reason to quarantine: the record goes back to Lambda."""
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: pytest.fail("must not sleep"))
    processor = StreamProcessor(
        Flaky(RetryableError(), {"A"}), report_batch_item_failures=False, quarantine=quarantine, metrics=False
    )
    result = processor.process(ticks("A", "B"), factories.FakeContext(remaining_ms=50))
    assert quarantine.envelopes == []
    # B goes back with A: a stream delivers again from the first record handed back
    assert [(index, why.why) for index, why in result.handed_back] == [
        (0, "out_of_time"),
        (1, "after_earlier_failure"),
    ]
    assert result.incomplete


def test_without_report_batch_item_failures_the_lambda_entry_raises_rather_than_lose_handed_back_records(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda ignores batchItemFailures on such a mapping: failing the invocation is the only hand-back."""
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: pytest.fail("must not sleep"))
    processor = StreamProcessor(
        Flaky(RetryableError(), {"A"}), report_batch_item_failures=False, quarantine=quarantine, metrics=False
    )
    with pytest.raises(BatchIncompleteError, match="2 of 2 records"):
        processor(ticks("A", "B"), factories.FakeContext(remaining_ms=50))
    assert quarantine.envelopes == []


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("false", False), ("FALSE", False), ("", True)]
)
def test_report_batch_item_failures_follows_the_environment_the_module_sets(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("SHARDSAFE_REPORT_BATCH_ITEM_FAILURES", value)
    assert StreamProcessor(metrics=False).report_batch_item_failures is expected
    assert StreamProcessor(
        metrics=False, report_batch_item_failures=not expected
    ).report_batch_item_failures is (not expected)


def test_an_unreadable_report_batch_item_failures_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHARDSAFE_REPORT_BATCH_ITEM_FAILURES", "maybe")
    with pytest.raises(ConfigurationError, match="SHARDSAFE_REPORT_BATCH_ITEM_FAILURES='maybe'"):
        StreamProcessor(metrics=False)


def test_with_the_mapping_setting_off_a_retryable_record_is_never_left_to_the_ignored_response(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_REPORT_BATCH_ITEM_FAILURES", "false")
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: None)
    processor = StreamProcessor(Flaky(RetryableError("busy"), {"B"}), quarantine=quarantine, metrics=False)
    assert processor(ticks("A", "B", "C"), factories.FakeContext()) == {"batchItemFailures": []}
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.RETRIES_EXHAUSTED]


def test_a_retryable_validator_failure_is_retried_not_quarantined(quarantine: MemoryQuarantine) -> None:
    def validate(data: dict[str, Any]) -> None:
        if data["TICKER"] == "B":
            raise RetryableError("schema registry throttled")

    processor = StreamProcessor(validate=validate, quarantine=quarantine, metrics=False)
    assert processor(ticks("A", "B")) == {"batchItemFailures": [{"itemIdentifier": sequence(1)}]}


def test_records_left_when_the_invocation_is_about_to_time_out_are_retried(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("shardsafe.core.policy.time.monotonic", lambda: clock[0])

    def one_second_each(record: Record) -> None:
        clock[0] += 1.0

    processor = StreamProcessor(one_second_each, quarantine=quarantine, metrics=False)
    # 20 s left, 2 s kept in reserve: records start until 18 s have passed.
    result = processor.process(factories.kinesis_event(count=40), factories.FakeContext(remaining_ms=20_000))
    assert len(result.processed) == 19
    assert result.item_failures == [sequence(i) for i in range(19, 40)]
    assert result.accounting_ok
