"""Telling failure-queue messages apart: Lambda on-failure records, quarantine envelopes, the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shardsafe.cli.messages import (
    FailedBatch,
    QuarantinedRecord,
    ReceivedMessage,
    UnreadableMessage,
    parse_failure_message,
    parse_time,
    stream_arn_of,
)
from tests.unit.cli.cli_fakes import STREAM_ARN


def received(body: str | dict, **attributes: str) -> ReceivedMessage:
    text = body if isinstance(body, str) else json.dumps(body)
    return ReceivedMessage("m-1", "r-1", text, dict(attributes))


def test_aws_on_failure_record_names_the_batch(on_failure_body):
    body = on_failure_body(shard_id="shardId-000000000003", start="100", end="250", batch_size=7)

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, FailedBatch)
    assert (parsed.stream_arn, parsed.shard_id) == (STREAM_ARN, "shardId-000000000003")
    assert (parsed.start_sequence_number, parsed.end_sequence_number, parsed.batch_size) == ("100", "250", 7)
    assert parsed.reason == "RetryAttemptsExhausted"
    assert parsed.first_arrival == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed.failed_at == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_a_batch_read_through_a_fan_out_consumer_names_the_stream(on_failure_body):
    body = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2)
    body["KinesisBatchInfo"]["streamArn"] = f"{STREAM_ARN}/consumer/ticks-efo:1795310694"

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, FailedBatch)
    assert parsed.stream_arn == STREAM_ARN


def test_stream_arn_of_leaves_a_stream_arn_alone():
    assert stream_arn_of(STREAM_ARN) == STREAM_ARN
    assert stream_arn_of(f"{STREAM_ARN}/consumer/c:1") == STREAM_ARN


def test_localstack_age_expiry_record_without_request_context_is_understood(on_failure_body):
    body = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2, condition=None)

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, FailedBatch)
    assert parsed.reason == "unknown"


def test_on_failure_record_wrapped_in_an_sns_notification_is_unwrapped(on_failure_body):
    inner = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2)
    body = {"Type": "Notification", "MessageId": "n-1", "Message": json.dumps(inner)}

    assert isinstance(parse_failure_message(received(body)), FailedBatch)


def test_on_failure_record_with_start_after_end_is_unreadable(on_failure_body):
    body = on_failure_body(shard_id="shardId-000000000000", start="300", end="20", batch_size=2)

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert "startSequenceNumber 300 is after endSequenceNumber 20" in parsed.problem


def test_quarantine_envelope_with_inline_payload_carries_the_bytes(quarantine_body):
    body = quarantine_body(
        payload=b"\xff\x00oops", sequence_number="123", partition_key="AAPL", reason="invalid_utf8"
    )

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, QuarantinedRecord)
    assert parsed.payload == b"\xff\x00oops"
    assert (parsed.reason, parsed.sequence_number, parsed.partition_key) == ("invalid_utf8", "123", "AAPL")
    assert parsed.failed_at == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_truncated_quarantine_envelope_keeps_only_the_hash(quarantine_body):
    body = quarantine_body(payload=b"x" * 1000, inline=False)

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, QuarantinedRecord)
    assert parsed.payload is None
    assert parsed.size == 1000
    assert len(parsed.sha256) == 64


def test_quarantine_envelope_whose_payload_does_not_match_its_hash_is_unreadable(quarantine_body):
    body = quarantine_body(payload=b"data", sha256="0" * 64)

    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert "sha256" in parsed.problem


def test_quarantine_envelope_from_another_source_is_unreadable(quarantine_body):
    parsed = parse_failure_message(received(quarantine_body(payload=b"x", event_source="aws:sqs")))

    assert isinstance(parsed, UnreadableMessage)
    assert "aws:sqs" in parsed.problem


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": "world"}', "neither"),
        ('{"DDBStreamBatchInfo": {}}', "another source"),
    ],
)
def test_other_messages_are_unreadable_with_the_reason(body, says):
    parsed = parse_failure_message(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert says in parsed.problem


def test_sqs_sent_timestamp_is_read_as_utc():
    message = ReceivedMessage.from_sqs(
        {
            "MessageId": "m",
            "ReceiptHandle": "r",
            "Body": "{}",
            "Attributes": {"SentTimestamp": "1767225600000"},
        }
    )

    assert message.sent_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T00:00:00.000Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),
        (1767225600.0, datetime(2026, 1, 1, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_times_are_read_as_aware_utc_or_none(value, expected):
    assert parse_time(value) == expected
