"""One model of failure-destination messages: Lambda on-failure records, quarantine envelopes, the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.ops.errors import InputError
from shardsafe.ops.failures import (
    FailedBatch,
    PayloadAt,
    QuarantineMessage,
    UnreadableMessage,
    classify,
    parse_time,
    stream_arn_of,
)
from tests.unit.ops.fakes import STREAM_ARN, kinesis_event_records, make_on_failure_object
from tests.unit.ops.fakes import make_on_failure_body as on_failure_body
from tests.unit.ops.fakes import make_quarantine_body as quarantine_body

PUT = [(b'{"PRICE": 1}', "AAPL", "100"), (b"\xff\x00 not utf-8", "MSFT", "101"), (b"", "AAPL", "250")]


def received(body: str | dict) -> str:
    """The body as SQS delivers it: JSON text."""
    return body if isinstance(body, str) else json.dumps(body)


def test_aws_on_failure_record_names_the_batch():
    body = on_failure_body(shard_id="shardId-000000000003", start="100", end="250", batch_size=7)

    parsed = classify(received(body))

    assert isinstance(parsed, FailedBatch)
    assert (parsed.stream_arn, parsed.shard_id) == (STREAM_ARN, "shardId-000000000003")
    assert (parsed.start, parsed.end, parsed.size) == (100, 250, 7)
    assert (parsed.source, parsed.attempts, parsed.condition) == ("kinesis", 3, "RetryAttemptsExhausted")
    assert parsed.reason == "RetryAttemptsExhausted"
    assert parsed.first_arrival == datetime(2026, 1, 1, tzinfo=UTC)
    assert parsed.failed_at == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_a_batch_read_through_a_fan_out_consumer_names_the_stream():
    body = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2)
    body["KinesisBatchInfo"]["streamArn"] = f"{STREAM_ARN}/consumer/ticks-efo:1795310694"

    parsed = classify(received(body))

    assert isinstance(parsed, FailedBatch)
    assert parsed.stream_arn == STREAM_ARN


def test_stream_arn_of_leaves_a_stream_arn_alone():
    assert stream_arn_of(STREAM_ARN) == STREAM_ARN
    assert stream_arn_of(f"{STREAM_ARN}/consumer/c:1") == STREAM_ARN


def test_localstack_age_expiry_record_without_request_context_is_understood():
    body = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2, condition=None)

    parsed = classify(received(body))

    assert isinstance(parsed, FailedBatch)
    assert parsed.reason == "unknown"


def test_on_failure_record_wrapped_in_an_sns_notification_is_unwrapped():
    inner = on_failure_body(shard_id="shardId-000000000000", start="1", end="2", batch_size=2)
    body = {"Type": "Notification", "MessageId": "n-1", "Message": json.dumps(inner)}

    assert isinstance(classify(received(body)), FailedBatch)


def test_on_failure_record_with_start_after_end_is_unreadable():
    body = on_failure_body(shard_id="shardId-000000000000", start="300", end="20", batch_size=2)

    parsed = classify(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert "startSequenceNumber 300 is after endSequenceNumber 20" in parsed.problem


def test_quarantine_envelope_with_inline_payload_carries_the_bytes():
    body = quarantine_body(
        payload=b"\xff\x00oops", sequence_number="123", partition_key="AAPL", reason="invalid_utf8"
    )

    parsed = classify(received(body))

    assert isinstance(parsed, QuarantineMessage)
    assert parsed.payload == b"\xff\x00oops"
    assert (parsed.reason, parsed.sequence_number, parsed.partition_key) == ("invalid_utf8", 123, "AAPL")
    assert parsed.payload_at is PayloadAt.INLINE
    assert parsed.coordinates == ("shardId-000000000000", 123)
    assert parsed.failed_at == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_truncated_quarantine_envelope_keeps_only_the_hash():
    body = quarantine_body(payload=b"x" * 1000, inline=False)

    parsed = classify(received(body))

    assert isinstance(parsed, QuarantineMessage)
    assert parsed.payload is None
    assert parsed.payload_at is PayloadAt.STREAM
    assert parsed.size == 1000
    assert len(parsed.sha256) == 64


def test_quarantine_envelope_whose_payload_does_not_match_its_hash_is_unreadable():
    body = quarantine_body(payload=b"data", sha256="0" * 64)

    parsed = classify(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert "sha256" in parsed.problem


def test_quarantine_envelope_from_another_source_is_read_without_a_stream_position():
    document = json.loads(quarantine_body(payload=b"x", event_source="aws:sqs"))
    document["record"].update(shardId=None, sequenceNumber=None, eventSourceArn="arn:aws:sqs:q")

    parsed = classify(document, "m-7")

    assert isinstance(parsed, QuarantineMessage)
    assert (parsed.event_source, parsed.shard_id, parsed.sequence_number) == ("aws:sqs", None, None)
    assert parsed.coordinates is None
    assert parsed.message_id == "m-7"


def test_kinesis_quarantine_envelope_without_its_position_is_unreadable():
    document = json.loads(quarantine_body(payload=b"x"))
    del document["record"]["partitionKey"]

    parsed = classify(document)

    assert isinstance(parsed, UnreadableMessage)
    assert (
        "from aws:kinesis without the record's position" in parsed.problem
        and "partitionKey" in parsed.problem
    )


def test_quarantine_envelope_wrapped_in_an_sns_notification_is_unwrapped():
    body = {"Type": "Notification", "Message": quarantine_body(payload=b"x", sequence_number="9")}

    parsed = classify(received(body))

    assert isinstance(parsed, QuarantineMessage)
    assert parsed.coordinates == ("shardId-000000000000", 9)


def test_dynamodb_on_failure_record_is_a_batch_of_that_source():
    body = on_failure_body(shard_id="shardId-00000001700000000000-abc", start="300", end="400", batch_size=2)
    body["DDBStreamBatchInfo"] = body.pop("KinesisBatchInfo")
    body["DDBStreamBatchInfo"]["streamArn"] = "arn:aws:dynamodb:us-east-1:0:table/t/stream/2026"

    parsed = classify(body, "m-2")

    assert isinstance(parsed, FailedBatch)
    assert (parsed.source, parsed.start, parsed.end) == ("dynamodb", 300, 400)


def test_batch_covers_its_own_shard_between_first_and_last_and_orders_by_position():
    late = FailedBatch.from_message(on_failure_body(shard_id="s-1", start="20", end="29", batch_size=10))
    early = FailedBatch.from_message(on_failure_body(shard_id="s-1", start="9", end="10", batch_size=2))
    other = FailedBatch.from_message(on_failure_body(shard_id="s-0", start="50", end="60", batch_size=2))

    assert [late.covers(("s-1", n)) for n in (19, 20, 29, 30)] == [False, True, True, False]
    assert not late.covers(("s-0", 25))
    assert sorted([late, other, early], key=lambda b: b.position) == [other, early, late]


def test_from_message_refuses_what_is_not_a_batch_with_the_reason():
    with pytest.raises(InputError, match="message m-3 is not a Lambda on-failure record: body is not JSON"):
        FailedBatch.from_message("{oops", "m-3")
    with pytest.raises(InputError, match="a quarantine envelope"):
        FailedBatch.from_message(quarantine_body(payload=b"x"), "m-4")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"hello": "world"}', "neither"),
        ('{"SQSBatchInfo": {}}', "another source"),
        ('{"DDBStreamBatchInfo": {}}', "malformed Lambda on-failure record: KeyError"),
        ('{"Type": "Notification", "Message": "{oops"}', "SNS notification's Message is not JSON"),
    ],
)
def test_other_messages_are_unreadable_with_the_reason(body, says):
    parsed = classify(received(body))

    assert isinstance(parsed, UnreadableMessage)
    assert says in parsed.problem


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


def sns_wrapped(body: dict) -> dict:
    return {"Type": "Notification", "MessageId": "n-1", "Message": json.dumps(body)}


def dynamodb_object() -> dict:
    change = {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "300", "ApproximateCreationDateTime": 1767225600}
    body = on_failure_body(shard_id="shardId-00000001700000000000-abc", start="300", end="300", batch_size=1)
    body["DDBStreamBatchInfo"] = body.pop("KinesisBatchInfo")
    body["DDBStreamBatchInfo"]["streamArn"] = "arn:aws:dynamodb:us-east-1:0:table/t/stream/2026"
    body["payload"] = json.dumps({"Records": [{"eventName": "INSERT", "dynamodb": change}]})
    return body


@pytest.mark.parametrize(
    ("body", "source"),
    [
        pytest.param(make_on_failure_object(PUT, shape="localstack"), "kinesis", id="localstack-object"),
        pytest.param(make_on_failure_object(PUT, shape="aws"), "kinesis", id="aws-escaped-string"),
        pytest.param(sns_wrapped(make_on_failure_object(PUT, shape="aws")), "kinesis", id="sns-wrapped"),
        pytest.param(dynamodb_object(), "dynamodb", id="dynamodb"),
    ],
)
def test_s3_on_failure_object_carries_the_batch_records(body, source):
    parsed = classify(received(body), "s3://b/aws/lambda/k")

    assert isinstance(parsed, FailedBatch)
    assert parsed.source == source
    assert parsed.records is not None
    assert "in the object" in parsed.describe()
    if source == "kinesis":
        carried = [(r.data, r.partition_key, r.sequence_number) for r in parsed.records]
        assert carried == PUT, "each record's bytes, key and sequence number as they were put"
        assert parsed.records[0].arrival == datetime(2026, 1, 1, tzinfo=UTC)
        assert (parsed.start, parsed.end, parsed.size) == (100, 250, 3)
    else:
        [record] = parsed.records
        assert json.loads(record.data)["dynamodb"]["SequenceNumber"] == record.sequence_number == "300"


def test_on_failure_message_without_payload_carries_no_records():
    parsed = classify(on_failure_body(shard_id="s", start="1", end="2", batch_size=2))

    assert isinstance(parsed, FailedBatch)
    assert parsed.records is None


def with_payload(payload: object) -> dict:
    body = make_on_failure_object(PUT)
    body["payload"] = payload
    return body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(with_payload("{oops"), "JSONDecodeError", id="string-not-json"),
        pytest.param(with_payload(["a"]), "not an event with a Records list", id="not-an-event"),
        pytest.param(
            with_payload({"Records": "x"}), "not an event with a Records list", id="records-not-list"
        ),
        pytest.param(
            with_payload({"Records": [{"eventSource": "aws:kinesis"}]}), "KeyError", id="no-kinesis"
        ),
        pytest.param(
            with_payload(
                {"Records": [{"kinesis": {"data": "%%%", "partitionKey": "k", "sequenceNumber": "100"}}]}
            ),
            "Error",
            id="bad-base64",
        ),
        pytest.param(
            with_payload({"Records": kinesis_event_records([(b"x", "k", "99")])}),
            "record 0 (99) is outside the batch, 100..250",
            id="record-outside-the-batch",
        ),
        pytest.param(with_payload(None), "not an event with a Records list", id="null"),
    ],
)
def test_s3_on_failure_object_with_a_malformed_payload_is_unreadable(body, says):
    parsed = classify(received(body), "s3://b/k")

    assert isinstance(parsed, UnreadableMessage)
    assert "malformed payload in a Lambda on-failure object" in parsed.problem
    assert says in parsed.problem


def test_quarantine_envelope_with_a_claim_check_says_the_payload_is_in_s3():
    check = ClaimCheck("failures", "claim-checks/payloads/2026/01/01/req-1/0-" + "a" * 64)
    body = quarantine_body(payload=b"x" * 1000, inline=False, claim_check=check)

    parsed = classify(received(body))

    assert isinstance(parsed, QuarantineMessage)
    assert parsed.payload_at is PayloadAt.S3
    assert parsed.claim_check == check
    assert parsed.payload is None and parsed.size == 1000
    assert f"s3://failures/{check.key}" in parsed.describe()
