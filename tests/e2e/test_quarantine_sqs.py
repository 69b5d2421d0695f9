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
