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


def test_dynamodb_records_are_validated_and_quarantined_as_json(quarantine: MemoryQuarantine) -> None:
    def validate(section: dict[str, object]) -> bool:
        return "NewImage" in section

    event = factories.dynamodb_event([{"TICKER": {"S": "A"}}, {"TICKER": {"S": "B"}}])
    del event["Records"][1]["dynamodb"]["NewImage"]
    handled: list[DynamoDBRecord] = []
    processor = StreamProcessor(handled.append, validate=validate, quarantine=quarantine, metrics=False)  # type: ignore[arg-type]
    result = processor.process(event)
    assert result.response == {"batchItemFailures": []}
    assert [record.event_name for record in handled] == ["INSERT"]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.VALIDATION_ERROR
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
