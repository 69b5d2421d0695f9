"""The quarantine envelope: the message shardsafe writes for every poison record, whatever the sink.

This module is the one definition of the format; the handler builds envelopes with
:func:`build_envelope` and the redrive tooling reads them with :func:`parse_envelope`.

Message body (JSON object, version 1)::

    {
      "shardsafe": "quarantine",          # marks the message as ours
      "version": 1,
      "reason": "invalid_json",           # one of REASONS (shardsafe.core.reasons)
      "error": {"type": "json.decoder.JSONDecodeError", "message": "Expecting value: ..."},
      "record": {
        "eventSource": "aws:kinesis",     # or "aws:dynamodb", "aws:sqs"
        "eventSourceArn": "arn:aws:kinesis:...",
        "shardId": "shardId-000000000000",             # null where the source has none (sqs, dynamodb)
        "sequenceNumber": "4959...",                    # string; null for a standard SQS queue
        "partitionKey": "AAPL",                         # sqs: the MessageGroupId, if any
        "approximateArrivalTimestamp": 1700000000.123,  # float seconds, or null
        "messageId": "...",                             # sqs only
        "keys": {"id": {"S": "..."}}                    # dynamodb only
      },
      "payload": {
        "size": 1234,                     # bytes
        "sha256": "<hex>",
        "base64": "<the full payload>"    # or, when it would not fit the message:
        # "s3": {"bucket": "...", "key": "..."}   a claim check: the bytes are in S3 (shardsafe.core.quarantine.claimcheck)
        # "truncated": true                        only when no claim check could be written either
      },
      "function": {"name": "my-fn", "requestId": "..."},
      "quarantinedAt": "2026-01-01T00:00:00.000Z"
    }

The payload is the record's original bytes: for Kinesis the base64-decoded ``data`` (still
compressed if it was); for SQS the UTF-8 ``body``; for DynamoDB the whole stream record as compact
JSON. A Kinesis ``data`` field that is not valid base64 is carried as the UTF-8 bytes of the string
itself (reason ``bad_base64``), and a record that is not even the shape Lambda sends is carried as
JSON (reason ``malformed_record``).

When the body would exceed the queue's message limit, ``payload.base64`` is omitted: the record's
bytes are written to S3 and ``payload.s3`` names the object (a claim check, see
:mod:`shardsafe.core.quarantine.claimcheck`). Only when that cannot be done either (no claim-check bucket, S3
unreachable) is ``payload.truncated`` ``true``; the processor then writes the payload to the log in
full, and ``sha256`` identifies it.

Message attributes: ``shardsafe-kind`` = ``"quarantine"`` and ``shardsafe-reason`` = the reason
(both ``String``). Lambda's own on-failure messages have a top-level ``KinesisBatchInfo`` (or
``DDBStreamBatchInfo``, ``SQSBatchInfo``) and no ``shardsafe`` key: that is how the two are told
apart (:func:`message_kind`).

Delivery is at least once: a batch that Lambda retries can quarantine the same record twice, so
consumers de-duplicate on ``(eventSourceArn, shardId, sequenceNumber)`` (``messageId`` for SQS).

>>> envelope = build_envelope(reason=reasons.INVALID_JSON, payload=b"{oops", record={"eventSource": "aws:sqs"})
>>> parse_envelope(envelope.to_body()).payload_bytes()
b'{oops'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final, Literal

from shardsafe.core import jsontext, reasons
from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.core.telemetry.logs import iso_utc

ENVELOPE_KIND: Final = "quarantine"
ENVELOPE_VERSION: Final = 1
KIND_ATTRIBUTE: Final = "shardsafe-kind"
REASON_ATTRIBUTE: Final = "shardsafe-reason"

#: SQS accepts messages up to 1 MiB (body plus attributes) on queues created since 2025 (AWS,
#: SendMessage API reference); older queues keep the 262,144 bytes they were created with.
SQS_MESSAGE_LIMIT: Final = 1_048_576
LEGACY_SQS_MESSAGE_LIMIT: Final = 262_144

#: Every reason a record can be quarantined for (see shardsafe.core.reasons).
REASONS: Final = reasons.ALL

MessageKind = Literal["quarantine", "lambda_on_failure", "unknown"]
# json.dumps(body, separators=(",", ":"), ensure_ascii=False) without a new encoder per envelope.
_encode_body = jsontext.encoder()
_LAMBDA_FAILURE_KEYS: Final = ("KinesisBatchInfo", "DDBStreamBatchInfo", "SQSBatchInfo")
_FIXED_ATTRIBUTE_BYTES: Final = (
    len(KIND_ATTRIBUTE) + len(REASON_ATTRIBUTE) + 2 * len("String") + len(ENVELOPE_KIND)
)


@dataclass(frozen=True)
class Envelope:
    """One quarantined record: why, where it came from, and its payload.

    The body is serialised once, on first use, and reused for the size check, for grouping
    into ``SendMessageBatch`` calls and for sending: an envelope is not to be changed after.
    """

    reason: str
    error_type: str
    error_message: str
    record: Mapping[str, Any]
    payload_size: int
    payload_sha256: str
    payload_base64: str | None
    function_name: str | None = None
    request_id: str | None = None
    quarantined_at: str = ""
    version: int = ENVELOPE_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)
    claim_check: ClaimCheck | None = None

    @property
    def truncated(self) -> bool:
        """True when the envelope carries neither the payload nor where it is kept (only its sha256)."""
        return self.payload_base64 is None and self.claim_check is None

    @property
    def inline(self) -> bool:
        """True when the payload's bytes are in the envelope itself."""
        return self.payload_base64 is not None

    def payload_bytes(self) -> bytes | None:
        """The original record bytes, or None when the envelope does not carry them (claim check, sha256 only)."""
        return None if self.payload_base64 is None else base64.b64decode(self.payload_base64)

    def with_claim_check(self, claim_check: ClaimCheck) -> Envelope:
        """This envelope without the payload, pointing at where its bytes are kept."""
        return replace(self, payload_base64=None, claim_check=claim_check)

    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"size": self.payload_size, "sha256": self.payload_sha256}
        if self.payload_base64 is not None:
            payload["base64"] = self.payload_base64
        elif self.claim_check is not None:
            payload["s3"] = self.claim_check.to_dict()
        else:
            payload["truncated"] = True
        return {
            "shardsafe": ENVELOPE_KIND,
            "version": self.version,
            "reason": self.reason,
            "error": {"type": self.error_type, "message": self.error_message},
            "record": dict(self.record),
            "payload": payload,
            "function": {"name": self.function_name, "requestId": self.request_id},
            "quarantinedAt": self.quarantined_at,
            **self.extra,
        }

    def to_body(self) -> str:
        """The SQS message body: compact JSON."""
        return self._body

    @cached_property
    def _body(self) -> str:
        encoded = self.payload_base64
        return _render_body(self, None if encoded is None else jsontext.value(encoded))

    def attributes(self) -> dict[str, str]:
        """The message attributes every sink sends with the body: ``shardsafe-kind`` and ``shardsafe-reason``."""
        return {KIND_ATTRIBUTE: ENVELOPE_KIND, REASON_ATTRIBUTE: self.reason}

    def without_payload(self) -> Envelope:
        """This envelope without the payload's bytes (``truncated`` until a claim check names them)."""
        return replace(self, payload_base64=None)

    def size_with_attributes(self) -> int:
        """The bytes SQS and SNS count against their limits: the body plus every attribute's name, data
        type (``String``) and value."""
        return self._size_with_attributes

    @cached_property
    def _size_with_attributes(self) -> int:
        body = self._body
        size = len(body) if body.isascii() else len(body.encode())
        # the two attributes' names, "String" twice, and their values (see attributes)
        reason = self.reason
        return size + _FIXED_ATTRIBUTE_BYTES + (len(reason) if reason.isascii() else len(reason.encode()))


def _render_body(envelope: Envelope, payload_base64_json: str | None) -> str:
    """``to_dict()`` as the message body, given the payload's base64 as JSON text (or None).

    The body is the text ``_encode_body`` writes, except for the characters SQS refuses (lone
    surrogates, U+FFFE, U+FFFF: an error message can hold them), which it escapes. It is a
    template, because one envelope per poison record is much of what poison costs and
    ``json.dumps`` takes twice as long; tests/unit/core/quarantine/test_envelope.py checks the texts are equal.
    """
    return jsontext.escape(_render_json(envelope, payload_base64_json), jsontext.NOT_XML)


def _render_json(envelope: Envelope, payload_base64_json: str | None) -> str:
    if (
        envelope.extra or envelope.claim_check is not None
    ):  # keys a newer version added: the generic encoder puts them where to_dict does
        return _encode_body(envelope.to_dict())
    string, value = jsontext.string, jsontext.value
    record = envelope.record
    try:
        sha256 = string(envelope.payload_sha256)
        if payload_base64_json is None:
            payload = f'{{"size":{value(envelope.payload_size)},"sha256":{sha256},"truncated":true}}'
        else:
            payload = (
                f'{{"size":{value(envelope.payload_size)},"sha256":{sha256},"base64":{payload_base64_json}}}'
            )
        return (
            f'{{"shardsafe":"{ENVELOPE_KIND}","version":{value(envelope.version)},"reason":{string(envelope.reason)},'
            f'"error":{{"type":{string(envelope.error_type)},"message":{string(envelope.error_message)}}},'
            f'"record":{_encode_body(record if type(record) is dict else dict(record))},"payload":{payload},'
            f'"function":{{"name":{value(envelope.function_name)},"requestId":{value(envelope.request_id)}}},'
            f'"quarantinedAt":{string(envelope.quarantined_at)}}}'
        )
    except TypeError:  # a field that is not the str it should be: the encoder says what it can
        return _encode_body(envelope.to_dict())


def build_envelope(
    *,
    reason: str,
    payload: bytes,
    record: Mapping[str, Any],
    error_type: str = "",
    error_message: str = "",
    function_name: str | None = None,
    request_id: str | None = None,
    max_message_bytes: int | None = SQS_MESSAGE_LIMIT,
    payload_sha256: str | None = None,
    payload_base64: str | None = None,
    quarantined_at: str | None = None,
) -> Envelope:
    """An envelope for ``payload``; the payload is left out (``truncated``) if it would not fit.

    ``payload_sha256`` and ``payload_base64``, if given, must be those of ``payload`` (the
    processor has them from the poison log line): ``payload_base64`` is standard base64, only
    its alphabet, as ``binascii.b2a_base64`` writes it or a strict decoder accepts it, and so is
    written into the body as it is. ``quarantined_at`` defaults to now.
    """
    if payload_base64 is None:
        payload_base64 = base64.b64encode(payload).decode("ascii")
    # Envelope(...) as its generated __init__ would make it (tests/unit/core/quarantine/test_envelope.py checks),
    # without a frozen dataclass's object.__setattr__ per field: a third of an envelope's cost.
    envelope = object.__new__(Envelope)
    envelope.__dict__.update(
        reason=reason,
        error_type=error_type,
        error_message=error_message,
        record=record,
        payload_size=len(payload),
        payload_sha256=payload_sha256 or hashlib.sha256(payload).hexdigest(),
        payload_base64=payload_base64,
        function_name=function_name,
        request_id=request_id,
        quarantined_at=quarantined_at or iso_utc(),
        version=ENVELOPE_VERSION,
        extra={},
        claim_check=None,
    )
    envelope.__dict__["_body"] = _render_body(envelope, f'"{payload_base64}"')  # base64 needs no escapes
    if max_message_bytes is None or envelope.size_with_attributes() <= max_message_bytes:
        return envelope
    return envelope.without_payload()


def message_kind(body: str | bytes | Mapping[str, Any]) -> MessageKind:
    """Whether a queue message is a shardsafe envelope, a Lambda on-failure record, or neither."""
    document = _load(body)
    if document is None:
        return "unknown"
    if document.get("shardsafe") == ENVELOPE_KIND:
        return "quarantine"
    if any(key in document for key in _LAMBDA_FAILURE_KEYS):
        return "lambda_on_failure"
    return "unknown"


def parse_envelope(body: str | bytes | Mapping[str, Any]) -> Envelope | None:
    """The envelope in an SQS message body, or None if the body is not a shardsafe envelope.

    Lambda's on-failure messages, other JSON and non-JSON all give None; so does an envelope
    whose payload does not match its sha256, which would redrive the wrong bytes.
    """
    document = _load(body)
    if document is None or document.get("shardsafe") != ENVELOPE_KIND:
        return None
    try:
        error = document.get("error") or {}
        payload = document["payload"]
        function = document.get("function") or {}
        record = document.get("record") or {}
        payload_base64 = payload.get("base64")
        if payload_base64 is not None:
            raw = base64.b64decode(payload_base64, validate=True)
            if hashlib.sha256(raw).hexdigest() != payload["sha256"]:
                return None
        where = payload.get("s3")
        claim_check = None if where is None else ClaimCheck(str(where["bucket"]), str(where["key"]))
        known = {"shardsafe", "version", "reason", "error", "record", "payload", "function", "quarantinedAt"}
        return Envelope(
            reason=str(document["reason"]),
            error_type=str(error.get("type", "")),
            error_message=str(error.get("message", "")),
            record=dict(record),
            payload_size=int(payload["size"]),
            payload_sha256=str(payload["sha256"]),
            payload_base64=payload_base64,
            function_name=function.get("name"),
            request_id=function.get("requestId"),
            quarantined_at=str(document.get("quarantinedAt", "")),
            version=int(document.get("version", ENVELOPE_VERSION)),
            extra={key: value for key, value in document.items() if key not in known},
            claim_check=claim_check,
        )
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        return None


def parse_log_fallback(document: Mapping[str, Any]) -> Envelope | None:
    """The envelope in a ``shardsafe.quarantine_fallback`` log line no quarantine store took.

    Such a line carries the envelope without its payload and the payload's base64 beside it
    (``payload_base64``); a long one is logged in parts: join them first with
    :func:`shardsafe.core.telemetry.logs.reassemble`. None when the line holds no envelope (a raw record).
    """
    envelope = document.get("envelope")
    encoded = document.get("payload_base64")
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("payload"), Mapping):
        return None
    payload = {key: value for key, value in envelope["payload"].items() if key != "truncated"}
    if isinstance(encoded, str):  # "" too: an empty record's payload is b"", not missing
        payload["base64"] = encoded
    return parse_envelope({**envelope, "payload": payload})


def _load(body: str | bytes | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        return body
    try:
        document = json.loads(body)
    except (ValueError, TypeError):
        return None
    return document if isinstance(document, dict) else None
