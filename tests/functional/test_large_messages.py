"""Large-message pointers: an SQS body the extended client left in S3 is read from there before the handler
sees it, and every way that can fail ends in a place of its own. S3 is moto's, in process (real boto3
errors); tests/e2e/test_large_messages_e2e.py sends with the extended client itself, on LocalStack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shardsafe import MemoryQuarantine, StreamProcessor, reasons
from shardsafe.core.stages import pointers
from tests import factories

BUCKET = "large-payloads"
PAYLOAD = {"TICKER": "AMZN", "PRICE": 12.5, "padding": "x" * 300_000}
NEW_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
OLD_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv(pointers.BUCKETS_ENV, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def message(
    body: str, *, index: int = 0, size: int | None = None, attribute: str = "ExtendedPayloadSize"
) -> dict[str, Any]:
    record = factories.sqs_record(body, index=index)
    if size is not None:
        record["messageAttributes"] = {
            attribute: {
                "stringValue": str(size),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number",
            }
        }
    return record


def pointer_body(key: str, cls: str = NEW_CLASS, bucket: str = BUCKET) -> str:
    return json.dumps([cls, {"s3BucketName": bucket, "s3Key": key}])


def run(records: list[dict[str, Any]], **options: Any) -> tuple[list[Any], MemoryQuarantine, Any]:
    seen: list[Any] = []
    quarantine = MemoryQuarantine()
    processor = StreamProcessor(
        lambda r: seen.append((r.data, r.payload)), quarantine=quarantine, metrics=False, **options
    )
    return seen, quarantine, processor.process({"Records": records})


@pytest.mark.parametrize(
    "cls",
    [NEW_CLASS, OLD_CLASS, "com.example.shaded.payloadoffloading.PayloadS3Pointer"],
    ids=["new", "legacy", "shaded"],
)
def test_a_pointer_is_read_from_s3_and_the_record_keeps_the_body_as_delivered(s3: Any, cls: str) -> None:
    content = json.dumps(PAYLOAD).encode()
    put(s3, "k1", content)
    body = pointer_body("k1", cls)
    seen, quarantine, _ = run([message(body, size=len(content))])
    assert seen == [(PAYLOAD, body.encode())]
    assert not quarantine.envelopes


def test_the_legacy_bare_object_is_a_pointer_only_with_a_size_attribute(s3: Any) -> None:
    content = json.dumps(PAYLOAD).encode()
    put(s3, "k2", content)
    bare = json.dumps({"s3BucketName": BUCKET, "s3Key": "k2"})
    seen, _, _ = run(
        [
            message(bare, index=0, size=len(content), attribute="SQSLargePayloadSize"),
            message(bare, index=1),  # an ordinary message that names an object: the handler's to read
        ]
    )
    assert [data for data, _ in seen] == [PAYLOAD, {"s3BucketName": BUCKET, "s3Key": "k2"}]


def test_an_sns_notification_delivered_through_sqs_gets_its_message_read(s3: Any) -> None:
    text = json.dumps(PAYLOAD)
    put(s3, "k3", text.encode())
    notification = {
        "Type": "Notification",
        "MessageId": "8b9e…",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:large",
        "Message": pointer_body("k3"),
        "MessageAttributes": {"ExtendedPayloadSize": {"Type": "Number", "Value": str(len(text.encode()))}},
    }
    raw_delivery = pointer_body("k3")  # raw message delivery: the body is the pointer, as from SQS
    seen, quarantine, _ = run(
        [message(json.dumps(notification, indent=2), index=0), message(raw_delivery, index=1, size=len(text))]
    )
    assert not quarantine.envelopes
    wrapped, raw = seen[0][0], seen[1][0]
    assert wrapped == {**notification, "Message": text}
    assert raw == PAYLOAD


def test_a_missing_object_or_bucket_is_poison_of_its_own_quarantined_with_the_pointer(s3: Any) -> None:
    gone, no_bucket = pointer_body("never-written"), pointer_body("k", bucket="no-such-bucket")
    seen, quarantine, result = run([message(gone, index=0), message(no_bucket, index=1)])
    assert not seen
    assert [(e.reason, e.payload_bytes()) for e in quarantine.envelopes] == [
        (reasons.POINTER_NOT_FOUND, gone.encode()),
        (reasons.POINTER_NOT_FOUND, no_bucket.encode()),
    ]
    assert "s3://large-payloads/never-written does not exist" in quarantine.envelopes[0].error_message
    assert result.response == {"batchItemFailures": []}


def test_an_object_of_another_size_than_the_message_says_is_refused(s3: Any) -> None:
    put(s3, "k4", b'{"a": 1}')
    body = pointer_body("k4")
    seen, quarantine, _ = run([message(body, size=9)])
    assert not seen
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.POINTER_UNREADABLE
    assert "holds 8 bytes, but the message says 9" in envelope.error_message
    assert envelope.payload_bytes() == body.encode()


def test_a_malformed_pointer_is_poison(s3: Any) -> None:
    body = json.dumps([NEW_CLASS, {"s3BucketName": BUCKET}])
    _, quarantine, _ = run([message(body)])
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.POINTER_UNREADABLE
    assert "without a string s3BucketName and s3Key" in envelope.error_message


def test_buckets_not_listed_are_refused_before_any_call_when_the_module_lists_them(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = json.dumps(PAYLOAD).encode()
    put(s3, "k5", content)
    elsewhere = pointer_body("k5", bucket="someone-elses-bucket")
    monkeypatch.setenv(pointers.BUCKETS_ENV, f" other-bucket , {BUCKET}")
    seen, quarantine, _ = run([message(pointer_body("k5"), index=0), message(elsewhere, index=1)])
    assert [data for data, _ in seen] == [PAYLOAD]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.POINTER_REFUSED
    assert envelope.error_message.startswith(
        f"the pointer names bucket 'someone-elses-bucket', which {pointers.BUCKETS_ENV} does not list "
        "(large-payloads, other-bucket)"
    )
    monkeypatch.setenv(pointers.BUCKETS_ENV, "")
    _, quarantine, _ = run([message(pointer_body("k5"))])
    assert [e.reason for e in quarantine.envelopes] == [reasons.POINTER_REFUSED]


def test_a_payload_past_the_decode_limits_is_too_large_without_reading_it(s3: Any) -> None:
    from shardsafe.core.stages.decode import DecodeLimits

    put(s3, "k6", b"x" * 2000)
    limits = DecodeLimits(max_inflated_bytes=1000, max_decoded_bytes=10_000)
    _, quarantine, _ = run(
        [message(pointer_body("k6"), index=0, size=2000), message(pointer_body("k6"), index=1)],
        decode_limits=limits,
    )
    assert [e.reason for e in quarantine.envelopes] == [reasons.TOO_LARGE] * 2
    assert "is 2,000 bytes, more than 1,000 (max_inflated_bytes)" in quarantine.envelopes[0].error_message


def test_s3_unreachable_hands_the_message_back(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(pointers, "CONNECT_TIMEOUT", 0.5)
    records = [message(pointer_body("k7"), index=0), message(json.dumps(factories.tick()), index=1)]
    seen, quarantine, result = run(records)
    assert [data for data, _ in seen] == [factories.tick()]  # a standard queue: only that message goes back
    assert not quarantine.envelopes
    assert result.response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    [(_, why)] = result.handed_back
    assert why.why == "retryable" and "EndpointConnectionError" in why.error_type


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500)])
def test_s3_throttling_or_failing_hands_the_message_back(
    monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(client)
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)
    stubber.activate()
    monkeypatch.setattr(pointers, "_make_client", lambda: client)
    monkeypatch.delenv(pointers.BUCKETS_ENV, raising=False)
    record = message(pointer_body("k8"))
    seen, quarantine, result = run([record])
    assert not seen and not quarantine.envelopes
    assert result.response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    stubber.assert_no_pending_responses()


def test_access_denied_is_poison_naming_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(client)
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    stubber.activate()
    monkeypatch.setattr(pointers, "_make_client", lambda: client)
    monkeypatch.delenv(pointers.BUCKETS_ENV, raising=False)
    _, quarantine, _ = run([message(pointer_body("k9"))])
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.POINTER_UNREADABLE
    assert (
        "cannot read s3://large-payloads/k9" in envelope.error_message
        and "AccessDenied" in envelope.error_message
    )


def test_what_the_object_holds_is_decoded_and_validated_as_a_body_would_be(s3: Any) -> None:
    put(s3, "not-json", b"not json")
    put(s3, "not-utf8", b"\xff\xfe")
    wrapped = {"Type": "Notification", "Message": pointer_body("not-utf8")}
    seen, quarantine, _ = run(
        [message(pointer_body("not-json"), index=0), message(json.dumps(wrapped), index=1)]
    )
    assert not seen
    assert [(e.reason, e.payload_bytes()) for e in quarantine.envelopes] == [
        (reasons.INVALID_JSON, pointer_body("not-json").encode()),
        (reasons.INVALID_UTF8, json.dumps(wrapped).encode()),
    ]


def test_turned_off_the_handler_gets_the_pointer(s3: Any) -> None:
    put(s3, "k10", json.dumps(PAYLOAD).encode())
    seen, _, _ = run([message(pointer_body("k10"))], large_messages=False, decode="text")
    assert seen[0][0] == pointer_body("k10")
    # and decoded as JSON (an object), a pointer, an array, is poison rather than data
    _, quarantine, _ = run([message(pointer_body("k10"))], large_messages=False)
    assert [e.reason for e in quarantine.envelopes] == [reasons.NOT_AN_OBJECT]


def test_only_sqs_bodies_are_pointers(s3: Any) -> None:
    put(s3, "k11", json.dumps(PAYLOAD).encode())
    body = json.dumps({"s3BucketName": BUCKET, "s3Key": "k11"})
    seen, _, _ = run([factories.kinesis_record(body)])
    assert seen[0][0] == {"s3BucketName": BUCKET, "s3Key": "k11"}


@pytest.mark.parametrize(
    "body",
    [
        '{"TICKER": "AMZN"}',
        "[1, 2]",
        '["S3Pointer", "x"]',
        '{"s3BucketName": 1}',
        "plain text",
        '["a.PayloadS3Pointer"',
    ],
)
def test_bodies_that_are_not_pointers_are_left_alone_without_s3(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client() -> Any:
        raise AssertionError("S3 was called for a body that is no pointer")

    monkeypatch.setattr(pointers, "_make_client", no_client)
    seen, quarantine, _ = run([message(body)], decode="text")
    assert [data for data, _ in seen] == [body] and not quarantine.envelopes
