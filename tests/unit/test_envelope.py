"""The quarantine envelope: round trip, truncation at the SQS limit, and telling it from Lambda's messages."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from shardsafe import build_envelope, message_kind, parse_envelope, reasons
from shardsafe.envelope import SQS_MESSAGE_LIMIT

RECORD = {
    "eventSource": "aws:kinesis",
    "eventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/ticks",
    "shardId": "shardId-000000000000",
    "sequenceNumber": "4959",
    "partitionKey": "AMZN",
    "approximateArrivalTimestamp": 1704067200.5,
}

LAMBDA_ON_FAILURE = {
    "requestContext": {"requestId": "x", "functionArn": "arn", "condition": "RetryAttemptsExhausted"},
    "version": "1.0",
    "timestamp": "2024-01-01T00:00:00.000Z",
    "KinesisBatchInfo": {"shardId": "shardId-000000000000", "startSequenceNumber": "1", "batchSize": 1},
}


def test_envelope_carries_the_contract_fields() -> None:
    payload = b"\x00\xff not utf-8 {"
    envelope = build_envelope(
        reason=reasons.INVALID_UTF8,
        payload=payload,
        record=RECORD,
        error_type="UnicodeDecodeError",
        error_message="bad byte",
        function_name="fn",
        request_id="req",
    )
    body = json.loads(envelope.to_body())
    assert body["shardsafe"] == "quarantine"
    assert body["version"] == 1
    assert body["reason"] == "invalid_utf8"
    assert body["error"] == {"type": "UnicodeDecodeError", "message": "bad byte"}
    assert body["record"] == RECORD
    assert body["payload"] == {
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "base64": base64.b64encode(payload).decode(),
    }
    assert body["function"] == {"name": "fn", "requestId": "req"}
    assert body["quarantinedAt"].endswith("Z")
    assert "KinesisBatchInfo" not in body
    assert envelope.message_attributes() == {
        "shardsafe-kind": {"DataType": "String", "StringValue": "quarantine"},
        "shardsafe-reason": {"DataType": "String", "StringValue": "invalid_utf8"},
    }


def test_parse_gives_back_the_payload_byte_for_byte() -> None:
    payload = bytes(range(256))
    envelope = build_envelope(reason=reasons.HANDLER_ERROR, payload=payload, record=RECORD)
    parsed = parse_envelope(envelope.to_body())
    assert parsed is not None
    assert parsed.payload_bytes() == payload
    assert parsed == envelope


def test_a_payload_over_the_sqs_limit_is_carried_as_its_sha256() -> None:
    payload = b"x" * 300_000
    envelope = build_envelope(reason=reasons.HANDLER_ERROR, payload=payload, record=RECORD)
    body = json.loads(envelope.to_body())
    assert body["payload"] == {
        "size": 300_000,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "truncated": True,
    }
    assert envelope.truncated
    assert envelope.message_size() <= SQS_MESSAGE_LIMIT
    parsed = parse_envelope(envelope.to_body())
    assert parsed is not None and parsed.payload_bytes() is None
    assert parsed.record["sequenceNumber"] == "4959"


def test_the_largest_payload_that_fits_is_kept_whole() -> None:
    limit = 4096 + 2000
    small = build_envelope(reason=reasons.EMPTY, payload=b"a" * 1000, record=RECORD, max_message_bytes=limit)
    assert not small.truncated and small.message_size() <= limit
    big = build_envelope(reason=reasons.EMPTY, payload=b"a" * 5000, record=RECORD, max_message_bytes=limit)
    assert big.truncated and big.message_size() <= limit


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(LAMBDA_ON_FAILURE),
        "not json",
        "[1, 2]",
        json.dumps({"shardsafe": "something-else"}),
        json.dumps({"shardsafe": "quarantine", "reason": "x"}),  # no payload
        b"\xff",
    ],
)
def test_anything_but_an_envelope_parses_to_none(body: str | bytes) -> None:
    assert parse_envelope(body) is None


def test_an_envelope_whose_payload_does_not_match_its_sha256_is_refused() -> None:
    document = json.loads(build_envelope(reason=reasons.EMPTY, payload=b"abc", record=RECORD).to_body())
    document["payload"]["base64"] = base64.b64encode(b"abd").decode()
    assert parse_envelope(json.dumps(document)) is None


def test_message_kind_tells_envelopes_from_lambda_on_failure_messages() -> None:
    envelope = build_envelope(reason=reasons.EMPTY, payload=b"", record=RECORD)
    assert message_kind(envelope.to_body()) == "quarantine"
    assert message_kind(json.dumps(LAMBDA_ON_FAILURE)) == "lambda_on_failure"
    assert message_kind({"DDBStreamBatchInfo": {}}) == "lambda_on_failure"
    assert message_kind("{}") == "unknown"
    assert message_kind("garbage") == "unknown"
