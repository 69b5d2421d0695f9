"""The quarantine envelope: round trip, truncation at the SQS limit, and telling it from Lambda's messages."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import FrozenInstanceError, fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardsafe import build_envelope, message_kind, parse_envelope, reasons
from shardsafe.core.quarantine.batching import string_attributes
from shardsafe.core.quarantine.envelope import SQS_MESSAGE_LIMIT, Envelope

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
    assert envelope.attributes() == {"shardsafe-kind": "quarantine", "shardsafe-reason": "invalid_utf8"}
    assert string_attributes(envelope) == {
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
    payload = b"x" * 800_000
    envelope = build_envelope(reason=reasons.HANDLER_ERROR, payload=payload, record=RECORD)
    body = json.loads(envelope.to_body())
    assert body["payload"] == {
        "size": 800_000,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "truncated": True,
    }
    assert envelope.truncated
    assert envelope.size_with_attributes() <= SQS_MESSAGE_LIMIT
    parsed = parse_envelope(envelope.to_body())
    assert parsed is not None and parsed.payload_bytes() is None
    assert parsed.record["sequenceNumber"] == "4959"


def test_the_largest_payload_that_fits_is_kept_whole() -> None:
    limit = 4096 + 2000
    small = build_envelope(reason=reasons.EMPTY, payload=b"a" * 1000, record=RECORD, max_message_bytes=limit)
    assert not small.truncated and small.size_with_attributes() <= limit
    big = build_envelope(reason=reasons.EMPTY, payload=b"a" * 5000, record=RECORD, max_message_bytes=limit)
    assert big.truncated and big.size_with_attributes() <= limit


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


# --- the body is written as a template; it must be the JSON of to_dict(), byte for byte ---

TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
OPTIONAL_TEXT = st.none() | TEXT
RECORDS = st.fixed_dictionaries(
    {
        "eventSource": st.sampled_from(["aws:kinesis", "aws:dynamodb", "aws:sqs"]),
        "eventSourceArn": OPTIONAL_TEXT,
        "shardId": OPTIONAL_TEXT,
        "sequenceNumber": OPTIONAL_TEXT,
        "partitionKey": OPTIONAL_TEXT,
        "approximateArrivalTimestamp": st.none() | st.floats(allow_nan=False, allow_infinity=False),
    },
    optional={"messageId": OPTIONAL_TEXT, "keys": st.dictionaries(TEXT, st.dictionaries(TEXT, TEXT))},
)


def reference_body(envelope: Envelope) -> str:
    """json.dumps of to_dict(), with what SQS refuses (lone surrogates, U+FFFE, U+FFFF) escaped."""
    text = json.dumps(envelope.to_dict(), separators=(",", ":"), ensure_ascii=False)
    return re.sub("[\ud800-\udfff\ufffe\uffff]", lambda match: f"\\u{ord(match.group()):04x}", text)


def sqs_accepts(body: str) -> bool:
    """SQS's rule for a message: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF."""
    return all(
        char in "\t\n\r"
        or 0x20 <= ord(char) <= 0xD7FF
        or 0xE000 <= ord(char) <= 0xFFFD
        or ord(char) >= 0x10000
        for char in body
    )


@given(
    payload=st.binary(max_size=300),
    record=RECORDS,
    reason=st.sampled_from(sorted(reasons.ALL)),
    error_type=TEXT,
    error_message=TEXT,
    function_name=OPTIONAL_TEXT,
    request_id=OPTIONAL_TEXT,
    limit=st.sampled_from([SQS_MESSAGE_LIMIT, 700]),
)
def test_the_body_is_the_json_of_to_dict(
    payload: bytes,
    record: dict[str, Any],
    reason: str,
    error_type: str,
    error_message: str,
    function_name: str | None,
    request_id: str | None,
    limit: int,
) -> None:
    envelope = build_envelope(
        reason=reason,
        payload=payload,
        record=record,
        error_type=error_type,
        error_message=error_message,
        function_name=function_name,
        request_id=request_id,
        max_message_bytes=limit,
    )
    body = envelope.to_body()
    assert body == reference_body(envelope)  # truncated or not
    attributes = sum(
        len(name) + len(attribute["DataType"]) + len(attribute["StringValue"])
        for name, attribute in string_attributes(envelope).items()
    )
    assert sqs_accepts(body) and envelope.size_with_attributes() == len(body.encode()) + attributes
    # Over the limit even without its payload (a long error message): SQS refuses it, and it is logged.
    assert envelope.size_with_attributes() <= limit or envelope.truncated
    made = Envelope(**{field.name: getattr(envelope, field.name) for field in fields(Envelope)})
    assert made == envelope and made.to_body() == envelope.to_body()
    assert parse_envelope(envelope.to_body()) == envelope


def test_build_envelope_sets_every_field_the_constructor_would() -> None:
    envelope = build_envelope(reason=reasons.EMPTY, payload=b"", record=RECORD, quarantined_at="t")
    assert {field.name for field in fields(Envelope)} <= set(vars(envelope))
    assert envelope == Envelope(
        reason=reasons.EMPTY,
        error_type="",
        error_message="",
        record=RECORD,
        payload_size=0,
        payload_sha256=hashlib.sha256(b"").hexdigest(),
        payload_base64="",
        quarantined_at="t",
    )
    with pytest.raises(FrozenInstanceError):
        envelope.reason = "other"  # type: ignore[misc]


def test_an_envelope_with_extra_keys_or_odd_field_types_is_still_valid_json() -> None:
    extra = replace(build_envelope(reason=reasons.EMPTY, payload=b"a", record=RECORD), extra={"newKey": [1]})
    assert json.loads(extra.to_body())["newKey"] == [1]
    assert extra.to_body() == reference_body(extra)
    odd = Envelope(
        reason=reasons.EMPTY,
        error_type=None,  # type: ignore[arg-type]
        error_message=3,  # type: ignore[arg-type]
        record=RECORD,
        payload_size=1,
        payload_sha256=hashlib.sha256(b"a").hexdigest(),
        payload_base64='"not base64"',
    )
    assert odd.to_body() == reference_body(odd)
