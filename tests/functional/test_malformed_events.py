"""Events shardsafe cannot read are logged in full and answered with success, never raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import MemoryQuarantine, StreamProcessor, reasons
from tests import factories


@pytest.mark.parametrize(
    "event",
    [
        None,
        "text",
        42,
        [],
        {},
        {"Records": None},
        {"Records": "nope"},
        {"Records": {"a": 1}},
        {"records": []},
    ],
    ids=repr,
)
def test_malformed_event_is_logged_and_answered_with_success(
    event: Any, quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    processor = StreamProcessor(quarantine=quarantine, metrics=False)
    assert processor(event, factories.FakeContext()) == {"batchItemFailures": []}
    lines = log_lines()
    [malformed] = [line for line in lines if line["event"] == "shardsafe.malformed_event"]
    assert malformed["event_type"] == type(event).__name__
    assert malformed["raw_event"] is not None
    assert [line["event"] for line in lines][-1] == "shardsafe.batch"


def test_an_unsupported_event_source_is_logged_as_malformed(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]}
    assert StreamProcessor(metrics=False)(event) == {"batchItemFailures": []}
    [line] = [line for line in log_lines() if line["event"] == "shardsafe.malformed_event"]
    assert "names an eventSource shardsafe reads (aws:dynamodb, aws:kinesis, aws:sqs)" in line["why"]
    assert "'aws:s3'" in line["why"]
    assert '"name":"b"' in line["raw_event"]


def test_an_empty_batch_succeeds_quietly(quarantine: MemoryQuarantine) -> None:
    result = StreamProcessor(quarantine=quarantine, metrics=False).process({"Records": []})
    assert (result.received, result.response) == (0, {"batchItemFailures": []})


@pytest.mark.parametrize(
    "record",
    [
        None,
        7,
        "x",
        [],
        {"eventSource": "aws:kinesis"},
        {"eventSource": "aws:kinesis", "kinesis": {"data": 5}},
    ],
    ids=repr,
)
def test_malformed_records_among_good_ones_are_quarantined(record: Any, quarantine: MemoryQuarantine) -> None:
    event = {"Records": [factories.kinesis_record(sequence=0), record, factories.kinesis_record(sequence=2)]}
    result = StreamProcessor(quarantine=quarantine, metrics=False).process(event)
    assert result.response == {"batchItemFailures": []}
    assert len(result.processed) == 2
    assert [e.reason for e in quarantine.envelopes] == [reasons.MALFORMED_RECORD]
    assert result.accounting_ok


def test_a_bug_in_shardsafe_is_logged_with_every_unaccounted_record(
    quarantine: MemoryQuarantine,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    def broken(self: Any, *args: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("shardsafe.core.run.Invocation.run_records", broken)
    result = StreamProcessor(quarantine=quarantine, metrics=False).process(factories.kinesis_event(count=3))
    assert result.response == {"batchItemFailures": []}
    assert [e.reason for e in quarantine.envelopes] == [reasons.INTERNAL_ERROR] * 3
    assert result.accounting_ok
    assert any(line["event"] == "shardsafe.internal_error" for line in log_lines())


def test_a_bug_mid_batch_in_the_lambda_handler_quarantines_only_the_records_not_yet_processed(
    quarantine: MemoryQuarantine,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    """The Lambda handler counts processed records by position; a bug must not quarantine them again."""

    def broken(self: Any, *args: Any) -> None:
        raise RuntimeError("bug")

    # The second record fails retryably and handing it back breaks.
    monkeypatch.setattr("shardsafe.core.run.Invocation.hand_back", broken)
    event = factories.kinesis_event(count=5)

    def handle(record: Any) -> None:
        if record.sequence_number == event["Records"][1]["kinesis"]["sequenceNumber"]:
            raise TimeoutError("downstream")

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False, report_batch_item_failures=True)
    assert processor(event, factories.FakeContext()) == {"batchItemFailures": []}
    sequence_numbers = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert [e.record["sequenceNumber"] for e in quarantine.envelopes] == sequence_numbers[1:]
    assert {e.reason for e in quarantine.envelopes} == {reasons.INTERNAL_ERROR}
    [summary] = [line for line in log_lines() if line["event"] == "shardsafe.batch"]
    assert (summary["processed"], summary["quarantined"], summary["accounting_ok"]) == (1, 4, True)
