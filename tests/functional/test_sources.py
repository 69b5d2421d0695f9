"""SQS and DynamoDB Streams events get the same guarantees as Kinesis."""

from __future__ import annotations

import json

from shardsafe import (
    DynamoDBRecord,
    MemoryQuarantine,
    Record,
    RetryableError,
    SqsRecord,
    StreamProcessor,
    reasons,
)
from tests import factories


def test_sqs_poison_is_quarantined_and_retryable_messages_are_reported(quarantine: MemoryQuarantine) -> None:
    seen: list[str] = []

    def handle(record: Record) -> None:
        assert isinstance(record, SqsRecord)
        seen.append(record.data["TICKER"])
        if record.data["TICKER"] == "RETRY":
            raise RetryableError

    event = factories.sqs_event(
        ["not json", factories.tick("A"), factories.tick("RETRY"), factories.tick("B")]
    )
    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    ids = [record["messageId"] for record in event["Records"]]
    # a standard queue has no order: only the failed message goes back, and B still runs
    assert result.response == {"batchItemFailures": [{"itemIdentifier": ids[2]}]}
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.INVALID_JSON
    assert envelope.payload_bytes() == b"not json"
    assert envelope.record["messageId"] == ids[0]
    assert envelope.record["eventSource"] == "aws:sqs"
    assert seen == ["A", "RETRY", "B"]


def test_dynamodb_records_are_validated_as_items_and_quarantined_as_json(
    quarantine: MemoryQuarantine,
) -> None:
    event = factories.dynamodb_event([{"TICKER": {"S": "A"}}, {"PRICE": {"N": "1"}}])
    handled: list[DynamoDBRecord] = []
    processor = StreamProcessor(
        handled.append, validate={"TICKER": str}, quarantine=quarantine, metrics=False
    )
    result = processor.process(event)
    assert result.response == {"batchItemFailures": []}
    assert [(record.event_name, record.data) for record in handled] == [("INSERT", {"TICKER": "A"})]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.VALIDATION_ERROR
    assert envelope.error_message == "missing field 'TICKER'"
    assert envelope.record["sequenceNumber"] == "112"
    assert envelope.record["keys"] == event["Records"][1]["dynamodb"]["Keys"]
    assert json.loads(envelope.payload_bytes() or b"") == event["Records"][1]


def test_dynamodb_retryable_failure_reports_the_stream_sequence_number(quarantine: MemoryQuarantine) -> None:
    def handle(record: Record) -> None:
        raise RetryableError

    event = factories.dynamodb_event([{}])
    assert StreamProcessor(handle, quarantine=quarantine, metrics=False)(event) == {
        "batchItemFailures": [{"itemIdentifier": "111"}]
    }


def test_each_record_is_read_by_its_own_source_not_the_first_ones(quarantine: MemoryQuarantine) -> None:
    """A first record that names no source (or another one) does not decide how the others are read."""
    good = factories.kinesis_event([factories.tick("A"), factories.tick("B")])["Records"]
    stray = {"kinesis": {"data": "e30="}}  # no eventSource at all
    queued = factories.sqs_event([factories.tick("Q")])["Records"]
    seen: list[tuple[str, str]] = []

    def handle(record: Record) -> None:
        seen.append((record.event_source, record.data["TICKER"]))

    event = {"Records": [stray, *good, *queued]}
    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    assert seen == [("aws:kinesis", "A"), ("aws:kinesis", "B"), ("aws:sqs", "Q")]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.MALFORMED_RECORD
    assert json.loads(envelope.payload_bytes()) == stray
    assert result.response == {"batchItemFailures": []}
    assert result.accounting_ok


def test_a_batch_whose_first_record_names_a_source_has_each_later_record_read_by_its_own(
    quarantine: MemoryQuarantine,
) -> None:
    """The usual batch is read in one go when every record names the first one's source; one that names
    another is read (and handed back) by its own, not by the first record's."""
    kinesis = factories.kinesis_event([factories.tick("K")])["Records"]
    queued = [factories.sqs_record(factories.tick("Q"))]
    changed = [factories.dynamodb_record({"TICKER": {"S": "D"}, "PRICE": {"N": "1"}})]
    seen: list[tuple[str, type, str]] = []

    def handle(record: Record) -> None:
        seen.append((record.event_source, type(record), record.data["TICKER"]))
        if record.data["TICKER"] == "Q":
            raise RetryableError("later")

    event = {"Records": [*kinesis, *queued, *changed]}
    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    assert [(source, kind.__name__, ticker) for source, kind, ticker in seen] == [
        ("aws:kinesis", "KinesisRecord", "K"),
        ("aws:sqs", "SqsRecord", "Q"),
        ("aws:dynamodb", "DynamoDBRecord", "D"),
    ]
    # the SQS record is handed back by its message id (its own source's identifier)
    assert result.response == {"batchItemFailures": [{"itemIdentifier": queued[0]["messageId"]}]}
    assert quarantine.envelopes == []
    assert result.accounting_ok


def test_a_source_of_ones_own_plugs_in_with_one_line(quarantine: MemoryQuarantine) -> None:
    """The MSK-shaped test source (tests/functional/msk_source.py): its event shape, its object item
    identifiers and its per-partition hand-back, through the Lambda entry point."""
    from shardsafe.core.sources import SOURCES
    from tests.functional.msk_source import MskRecord, MskSource, msk_event

    def handle(record: Record) -> None:
        assert isinstance(record, MskRecord)
        if record.data["TICKER"] == "RETRY":
            raise RetryableError("downstream busy")

    payloads = [json.dumps(factories.tick(name)).encode() for name in ("A", "RETRY", "B", "C")]
    event = msk_event([*payloads, b"not json"], [0, 0, 0, 1, 1])
    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False, sources=(*SOURCES, MskSource()))
    # partition 0: RETRY and the later B go back (from offset 101); partition 1 goes on
    assert processor(event) == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "ticks-0", "offset": 101}},
            {"itemIdentifier": {"partition": "ticks-0", "offset": 102}},
        ]
    }
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.record["shardId"], envelope.record["sequenceNumber"]) == (
        reasons.INVALID_JSON,
        "ticks-1",
        "101",
    )
    assert envelope.payload_bytes() == b"not json"
    # without the line, the event is not one shardsafe reads: logged in full, nothing handled
    assert StreamProcessor(handle, quarantine=quarantine, metrics=False)(event) == {"batchItemFailures": []}
