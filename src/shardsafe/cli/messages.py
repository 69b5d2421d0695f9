"""What the failure queue holds: Lambda's on-failure records and shardsafe's quarantine envelopes.

Lambda's on-failure message for a Kinesis batch names the batch (``KinesisBatchInfo``: shard,
first and last sequence number) but carries none of its records. LocalStack sends the same
shape, without ``requestContext``/``responseContext`` when a batch expired by age. A shardsafe
quarantine envelope (`shardsafe.envelope`) carries one record's payload, or only its hash when it
was too big for SQS. Both may arrive wrapped in an SNS notification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shardsafe.envelope import Envelope, message_kind, parse_envelope

__all__ = [
    "FailedBatch",
    "FailureMessage",
    "QuarantinedRecord",
    "ReceivedMessage",
    "UnreadableMessage",
    "parse_failure_message",
    "parse_time",
    "stream_arn_of",
]


@dataclass(frozen=True)
class ReceivedMessage:
    """An SQS message as received: what redrive needs to read, filter and delete it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent_at: datetime | None = None

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> ReceivedMessage:
        attributes = {
            name: str(value.get("StringValue", ""))
            for name, value in message.get("MessageAttributes", {}).items()
        }
        sent = message.get("Attributes", {}).get("SentTimestamp")
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message.get("Body", ""),
            attributes=attributes,
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        )


@dataclass(frozen=True)
class FailedBatch:
    """Lambda gave up on a batch: its records are on the stream between two sequence numbers."""

    message: ReceivedMessage
    stream_arn: str
    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    batch_size: int | None
    first_arrival: datetime | None
    condition: str | None
    failed_at: datetime | None
    function_arn: str | None = None

    kind = "on_failure"

    @property
    def reason(self) -> str:
        return self.condition or "unknown"

    def describe(self) -> str:
        return (
            f"on-failure batch ({self.reason}) {self.shard_id} "
            f"{self.start_sequence_number}..{self.end_sequence_number}, {self.batch_size} records"
        )


@dataclass(frozen=True)
class QuarantinedRecord:
    """shardsafe quarantined one record: its payload is inline, or must be re-read by position."""

    message: ReceivedMessage
    reason: str
    stream_arn: str
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: datetime | None
    payload: bytes | None
    sha256: str
    size: int | None
    failed_at: datetime | None

    kind = "quarantine"

    def describe(self) -> str:
        where = "inline" if self.payload is not None else "re-read from the stream"
        return f"quarantined record ({self.reason}) {self.shard_id} {self.sequence_number}, payload {where}"


@dataclass(frozen=True)
class UnreadableMessage:
    """Neither shape: left in the queue and reported."""

    message: ReceivedMessage
    problem: str

    kind = "unreadable"
    reason = "unreadable"
    shard_id: str | None = None
    failed_at: datetime | None = None

    def describe(self) -> str:
        return f"unreadable message: {self.problem}"


FailureMessage = FailedBatch | QuarantinedRecord | UnreadableMessage


def parse_failure_message(message: ReceivedMessage) -> FailureMessage:
    """Recognise a failure-queue message; anything else becomes an `UnreadableMessage`."""
    try:
        body = json.loads(message.body)
    except ValueError as exc:
        return UnreadableMessage(message, f"body is not JSON ({exc})")
    if isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        try:
            body = json.loads(body["Message"])
        except ValueError as exc:
            return UnreadableMessage(message, f"SNS notification's Message is not JSON ({exc})")
    if not isinstance(body, dict):
        return UnreadableMessage(message, "body is not a JSON object")
    kind = message_kind(body)
    if kind == "quarantine":
        envelope = parse_envelope(body)
        if envelope is None:
            return UnreadableMessage(
                message,
                "a shardsafe quarantine envelope that is malformed, or whose payload does not match its sha256",
            )
        return _quarantined_record(message, envelope)
    if kind == "lambda_on_failure":
        if not isinstance(body.get("KinesisBatchInfo"), dict):
            return UnreadableMessage(
                message, "a Lambda on-failure record for another source: redrive handles Kinesis"
            )
        try:
            return _failed_batch(message, body)
        except (KeyError, TypeError, ValueError) as exc:
            return UnreadableMessage(
                message, f"malformed Lambda on-failure record: {type(exc).__name__} {exc}"
            )
    return UnreadableMessage(
        message, "neither a Lambda on-failure record nor a shardsafe quarantine envelope"
    )


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 string or epoch seconds as an aware UTC datetime; None when absent or unreadable."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value)) if value else None
    except (ValueError, OverflowError, OSError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def stream_arn_of(arn: str) -> str:
    """The stream's ARN, also when given an enhanced fan-out consumer's (``.../stream/S/consumer/C:T``).

    A mapping that reads through a consumer may name the consumer where the stream is meant (LocalStack
    does, in on-failure messages); GetRecords and PutRecords need the stream.
    """
    return arn.split("/consumer/", 1)[0]


def _failed_batch(message: ReceivedMessage, body: dict[str, Any]) -> FailedBatch:
    info = body["KinesisBatchInfo"]
    request = body.get("requestContext") or {}
    start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
    if int(start) > int(end):
        raise ValueError(f"startSequenceNumber {start} is after endSequenceNumber {end}")
    return FailedBatch(
        message=message,
        stream_arn=stream_arn_of(str(info["streamArn"])),
        shard_id=str(info["shardId"]),
        start_sequence_number=start,
        end_sequence_number=end,
        batch_size=int(info["batchSize"]) if info.get("batchSize") is not None else None,
        first_arrival=parse_time(info.get("approximateArrivalOfFirstRecord")),
        condition=request.get("condition"),
        failed_at=parse_time(body.get("timestamp")),
        function_arn=request.get("functionArn"),
    )


def _quarantined_record(message: ReceivedMessage, envelope: Envelope) -> FailureMessage:
    record = envelope.record
    if record.get("eventSource") != "aws:kinesis":
        return UnreadableMessage(
            message, f"quarantined from {record.get('eventSource')}: redrive recovers Kinesis records only"
        )
    try:
        int(record["sequenceNumber"])  # a decimal integer, up to 128 bits
        return QuarantinedRecord(
            message=message,
            reason=envelope.reason,
            stream_arn=stream_arn_of(str(record["eventSourceArn"])),
            shard_id=str(record["shardId"]),
            sequence_number=str(record["sequenceNumber"]),
            partition_key=str(record["partitionKey"]),
            arrival=parse_time(record.get("approximateArrivalTimestamp")),
            payload=envelope.payload_bytes(),
            sha256=envelope.payload_sha256,
            size=envelope.payload_size,
            failed_at=parse_time(envelope.quarantined_at),
        )
    except (KeyError, TypeError, ValueError) as exc:
        return UnreadableMessage(
            message, f"quarantine envelope without a Kinesis position: {type(exc).__name__} {exc}"
        )
