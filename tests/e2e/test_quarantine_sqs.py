"""Quarantine against real SQS on LocalStack: every poison record arrives exactly once, payload byte-identical."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import pytest
from shardsafe_harness.resources import Resources

from shardsafe import StreamProcessor, parse_envelope, reasons
from tests import factories


@pytest.fixture
def quarantine_queue(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQS queue, named in SHARDSAFE_QUARANTINE_QUEUE_URL as the Terraform module does."""
    url = resources.queue(resources.name("quarantine"))
    monkeypatch.setenv("SHARDSAFE_QUARANTINE_QUEUE_URL", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", resources.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    return url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on the queue, received and deleted, until a long poll comes back empty."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def poison_payloads() -> list[bytes]:
    """Every poison kind a few times over, binary included: 27 records, so three SendMessageBatch calls."""
    kinds = [
        b"\xc3\x28\xff\xfe invalid utf-8",
        b'{"TICKER": "AMZN", "PRI',
        b"[1, 2, 3]",
        b'{"TICKER": "AMZN"}',
        b"",
        gzip.compress(b'{"a": 1}')[:-4],
        bytes(range(256)),
        json.dumps({"EVENT_TIME": "t", "TICKER": "AMZN", "PRICE": "not a number"}).encode(),
        b"\x00" * 1000,
    ]
    return [kind + (b" #%d" % n if n and kind else b"") for n in range(3) for kind in kinds]


def test_every_poison_record_arrives_once_with_its_exact_payload(
    quarantine_queue: str, aws_client: Any
) -> None:
    poison = poison_payloads()
    good = [factories.tick(n=n) for n in range(10)]
    payloads: list[Any] = []
    for index, payload in enumerate(poison):
        payloads.append(payload)
        if index < len(good):
            payloads.append(good[index])
    event = factories.kinesis_event(payloads)
    expected = {
        record["kinesis"]["sequenceNumber"]: payload
        for record, payload in zip(event["Records"], payloads, strict=True)
        if isinstance(payload, bytes)
    }

    processor = StreamProcessor(validate={"EVENT_TIME": str, "TICKER": str, "PRICE": float}, metrics=False)
    result = processor.process(event, factories.FakeContext())

    assert result.response == {"batchItemFailures": []}
    assert result.undelivered == 0
    assert (len(result.processed), len(result.quarantined)) == (len(good), len(poison))
    messages = drain(aws_client("sqs"), quarantine_queue)
    envelopes = [parse_envelope(message["Body"]) for message in messages]
    assert all(envelope is not None for envelope in envelopes)
    arrived = [envelope.record["sequenceNumber"] for envelope in envelopes if envelope]
    assert sorted(arrived) == sorted(expected)  # each exactly once
    for message, envelope in zip(messages, envelopes, strict=True):
        assert envelope is not None
        assert envelope.payload_bytes() == expected[envelope.record["sequenceNumber"]]
        assert message["MessageAttributes"]["shardsafe-kind"]["StringValue"] == "quarantine"
        assert message["MessageAttributes"]["shardsafe-reason"]["StringValue"] == envelope.reason
        assert envelope.record["shardId"] == factories.SHARD_ID
        assert "KinesisBatchInfo" not in json.loads(message["Body"])


def test_a_payload_over_the_old_256_kib_limit_arrives_inline_in_a_1_mib_queue(
    quarantine_queue: str, aws_client: Any
) -> None:
    payload = b"[" + b"0," * 200_000 + b"0]"  # 400 KB: 533 KB in base64
    StreamProcessor(metrics=False)(factories.kinesis_event([payload]))
    [message] = drain(aws_client("sqs"), quarantine_queue)
    envelope = parse_envelope(message["Body"])
    assert envelope is not None and envelope.payload_bytes() == payload


def test_without_a_claim_check_bucket_an_oversized_payload_arrives_as_its_sha256_and_stream_coordinates(
    quarantine_queue: str, aws_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHARDSAFE_CLAIM_CHECK_BUCKET", raising=False)
    payload = b"[" + b"0," * 400_000 + b"0]"  # 800 KB: over the 1 MiB message once in base64
    event = factories.kinesis_event([payload])
    StreamProcessor(metrics=False)(event)
    [message] = drain(aws_client("sqs"), quarantine_queue)
    envelope = parse_envelope(message["Body"])
    assert envelope is not None and envelope.truncated
    assert envelope.reason == reasons.NOT_AN_OBJECT
    assert envelope.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert envelope.payload_size == len(payload)
    assert envelope.record["sequenceNumber"] == event["Records"][0]["kinesis"]["sequenceNumber"]
    assert envelope.record["shardId"] == factories.SHARD_ID


CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens, the connection is refused


@pytest.fixture
def claim_check_bucket(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket on LocalStack, named in SHARDSAFE_CLAIM_CHECK_BUCKET as the module does."""
    s3 = resources.client("s3")
    bucket = resources.name("claims")
    s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("SHARDSAFE_CLAIM_CHECK_BUCKET", bucket)
    monkeypatch.setenv("SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", "262144")
    yield s3, bucket
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def test_a_payload_too_big_for_the_queue_is_claim_checked_in_real_s3(
    quarantine_queue: str, claim_check_bucket: Any, aws_client: Any
) -> None:
    s3, bucket = claim_check_bucket
    payload = b"{not json " + bytes(range(256)) * 1200  # 300 KB: over the queue's 256 KiB
    event = factories.kinesis_event([payload])
    StreamProcessor(metrics=False)(event)
    [message] = drain(aws_client("sqs"), quarantine_queue)
    envelope = parse_envelope(message["Body"])
    assert envelope is not None and envelope.claim_check is not None and not envelope.truncated
    assert envelope.claim_check.bucket == bucket
    assert s3.get_object(Bucket=bucket, Key=envelope.claim_check.key)["Body"].read() == payload
    assert envelope.record["sequenceNumber"] == event["Records"][0]["kinesis"]["sequenceNumber"]


def test_when_sqs_is_unreachable_s3_keeps_every_envelope_whole(
    quarantine_queue: str, claim_check_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, bucket = claim_check_bucket
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", CLOSED_PORT)  # SQS out of reach, S3 not
    payloads = [b"[1, 2, 3]", b"{not json " + b"y" * 300_000]
    event = factories.kinesis_event(payloads)
    StreamProcessor(metrics=False)(event)
    kept: dict[str, bytes] = {}
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="claim-checks/envelopes/").get("Contents", []):
        envelope = parse_envelope(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        assert envelope is not None
        if envelope.claim_check is not None:
            data = s3.get_object(Bucket=bucket, Key=envelope.claim_check.key)["Body"].read()
        else:
            data = envelope.payload_bytes() or b""
        kept[envelope.record["sequenceNumber"]] = data
    sequence = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert kept == dict(zip(sequence, payloads, strict=True))


def test_when_neither_sqs_nor_s3_can_be_reached_the_log_has_every_byte(
    quarantine_queue: str, claim_check_bucket: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from shardsafe.core.quarantine.envelope import parse_log_fallback
    from shardsafe.core.telemetry import logs

    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", CLOSED_PORT)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", CLOSED_PORT)
    payloads = [b"[1, 2, 3]", b"{not json " + b"z" * 300_000]
    event = factories.kinesis_event(payloads)
    StreamProcessor(metrics=False)(event)
    lines = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"event":"shardsafe.quarantine_fallback"' in line
    ]
    restored = {}
    for document in logs.reassemble(lines, "payload_base64"):
        envelope = parse_log_fallback(document)
        assert envelope is not None
        restored[envelope.record["sequenceNumber"]] = envelope.payload_bytes()
    sequence = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert restored == dict(zip(sequence, payloads, strict=True))
