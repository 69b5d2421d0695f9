"""What a failure destination holds, as one model, and the one classifier that reads it.

Two writers put messages there (an SQS queue, an SNS topic, or an S3 bucket), and `classify` tells
them apart:

- Lambda, when it gives up on a batch of a Kinesis or DynamoDB stream, writes an on-failure record
  naming the batch (``KinesisBatchInfo`` / ``DDBStreamBatchInfo``: shard, first and last sequence
  number, size): a `FailedBatch`. To a queue or topic it carries none of the batch's records; to an
  S3 bucket it adds ``payload``, the invocation's whole event (AWS documents it as an escaped JSON
  string, LocalStack writes a JSON object: both are read), and the `FailedBatch` carries its
  ``records``. LocalStack sends the same shape, without ``requestContext``/``responseContext`` when
  a batch expired by age.
- shardsafe quarantines each poison record in an envelope (`shardsafe.core.quarantine.envelope`) that carries the
  record's payload, or where it is kept in S3 (a claim check), or only its hash when neither could
  be done: a `QuarantineMessage`, whose `PayloadAt` says which.

A third kind is read from a queue's dead-letter queue, where SQS moved a message it gave up on: the
message itself, whatever its body (`DeadLetter.from_sqs`; no body-based classifier can tell it apart).

Anything else is an `UnreadableMessage` saying what is wrong with it. Either may arrive wrapped in an
SNS notification (a topic destination with an SQS subscription that is not raw); `classify` unwraps it.
Redrive (`shardsafe.ops.redrive`), the demo's accounting and the tests all read messages through here.

    message = classify(sqs_message["Body"], sqs_message["MessageId"])
    if isinstance(message, FailedBatch) and message.covers(("shardId-000000000000", 42)): ...
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.core.quarantine.envelope import Envelope, message_kind, parse_envelope
from shardsafe.core.sources import KINESIS
from shardsafe.ops.errors import InputError

__all__ = [
    "Coordinates",
    "DeadLetter",
    "FailedBatch",
    "FailureMessage",
    "PayloadAt",
    "QuarantineMessage",
    "StreamRecord",
    "UnreadableMessage",
    "classify",
    "parse_time",
    "stream_arn_of",
]

Coordinates = tuple[str, int]
"""Where a stream record is: (shard id, sequence number)."""

StreamSource = Literal["kinesis", "dynamodb"]

# Lambda's key for each stream source it writes on-failure records for.
_BATCH_INFO: dict[str, StreamSource] = {"KinesisBatchInfo": "kinesis", "DDBStreamBatchInfo": "dynamodb"}


class PayloadAt(StrEnum):
    """Where a quarantined record's bytes are to be had."""

    INLINE = "inline"  # in the envelope
    S3 = "s3"  # in an S3 object the envelope names (a claim check), checked against size and sha256
    STREAM = "stream"  # only the hash is in the envelope: re-read by position while the stream retains it


@dataclass(frozen=True)
class StreamRecord:
    """A stream record's bytes and position, as read from the stream or from Lambda's S3 object.

    For a DynamoDB record ``data`` is the whole stream record as compact JSON (as in a quarantine
    envelope) and ``partition_key`` is empty.
    """

    data: bytes
    partition_key: str
    sequence_number: str
    arrival: datetime | None = None


@dataclass(frozen=True)
class FailedBatch:
    """Lambda gave up on a batch: its records are on the stream between two sequence numbers, and in
    ``records`` when the message carries them (an S3 on-failure object); None when it does not."""

    message_id: str
    source: StreamSource
    stream_arn: str  # the stream's, also when Lambda named a fan-out consumer's
    shard_id: str
    start: int  # the first record's sequence number
    end: int  # the last record's
    size: int | None  # how many records Lambda says the batch held
    condition: (
        str | None
    )  # RetryAttemptsExhausted, RecordAgeExceeded, ...; None in LocalStack's age-expiry shape
    attempts: int | None  # approximateInvokeCount
    first_arrival: datetime | None
    failed_at: datetime | None
    function_arn: str | None
    body: Mapping[str, Any]  # the on-failure record as Lambda wrote it, without any SNS wrapper
    records: tuple[StreamRecord, ...] | None = None  # the batch's records, in order, from ``payload``

    kind: ClassVar[str] = "on_failure"

    @classmethod
    def from_message(cls, body: str | bytes | Mapping[str, Any], message_id: str = "") -> FailedBatch:
        """The batch a Lambda on-failure message names; `InputError` saying why when it names none."""
        message = classify(body, message_id)
        if isinstance(message, FailedBatch):
            return message
        problem = message.problem if isinstance(message, UnreadableMessage) else "a quarantine envelope"
        raise InputError(f"message {message_id or '(no id)'} is not a Lambda on-failure record: {problem}")

    @property
    def reason(self) -> str:
        return self.condition or "unknown"

    @property
    def position(self) -> tuple[str, int, int]:
        """(shard id, first, last): the same for every copy of the message; batches are listed in this order."""
        return (self.shard_id, self.start, self.end)

    def covers(self, coordinates: Coordinates) -> bool:
        shard_id, sequence_number = coordinates
        return shard_id == self.shard_id and self.start <= sequence_number <= self.end

    def describe(self) -> str:
        carried = "" if self.records is None else f" ({len(self.records)} in the object)"
        return (
            f"on-failure batch ({self.reason}) {self.shard_id} {self.start}..{self.end}, "
            f"{self.size} records{carried}"
        )


@dataclass(frozen=True)
class QuarantineMessage:
    """shardsafe quarantined one record: the envelope, and where the record came from.

    Position fields are None where the source has none (a DynamoDB record has no shard id in the
    envelope, a standard SQS message no sequence number).
    """

    message_id: str
    envelope: Envelope
    event_source: str  # aws:kinesis, aws:dynamodb, aws:sqs
    stream_arn: str | None
    shard_id: str | None
    sequence_number: int | None
    partition_key: str | None
    arrival: datetime | None
    failed_at: datetime | None
    #: A KPL user record's place in its aggregate (``sequence_number`` is the aggregate's), and the
    #: explicit hash key it was put with; None for a record that was not aggregated.
    sub_sequence_number: int | None = None
    explicit_hash_key: str | None = None

    kind: ClassVar[str] = "quarantine"

    @property
    def reason(self) -> str:
        return self.envelope.reason

    @property
    def payload(self) -> bytes | None:
        """The record's bytes when the envelope carries them (checked against ``sha256``), else None."""
        return self.envelope.payload_bytes()

    @property
    def payload_at(self) -> PayloadAt:
        if self.envelope.inline:
            return PayloadAt.INLINE
        return PayloadAt.S3 if self.envelope.claim_check is not None else PayloadAt.STREAM

    @property
    def claim_check(self) -> ClaimCheck | None:
        """The S3 object holding the record's bytes, when the envelope points at one."""
        return self.envelope.claim_check

    @property
    def sha256(self) -> str:
        return self.envelope.payload_sha256

    @property
    def size(self) -> int:
        return self.envelope.payload_size

    @property
    def coordinates(self) -> Coordinates | None:
        """The Kinesis record's (shard, sequence number): for a KPL user record, its aggregate's."""
        if self.shard_id is None or self.sequence_number is None:
            return None
        return (self.shard_id, self.sequence_number)

    def describe(self) -> str:
        check = self.claim_check
        where = {
            PayloadAt.INLINE: "inline",
            PayloadAt.S3: f"in s3://{check.bucket}/{check.key}" if check is not None else "in S3",
            PayloadAt.STREAM: "re-read from the stream",
        }[self.payload_at]
        sub = "" if self.sub_sequence_number is None else f" user record {self.sub_sequence_number}"
        return (
            f"quarantined record ({self.reason}) {self.shard_id} {self.sequence_number}{sub}, payload {where}"
        )


@dataclass(frozen=True)
class UnreadableMessage:
    """Neither shape, or one of them malformed: ``problem`` says what is wrong."""

    message_id: str
    problem: str

    kind: ClassVar[str] = "unreadable"
    reason: ClassVar[str] = "unreadable"
    shard_id: ClassVar[str | None] = None
    failed_at: ClassVar[datetime | None] = None

    def describe(self) -> str:
        return f"unreadable message: {self.problem}"


@dataclass(frozen=True)
class DeadLetter:
    """A message SQS moved to a dead-letter queue after ``maxReceiveCount`` receives: what it keeps.

    SQS keeps the body, the message attributes and, for FIFO, the message group id; moving a message to
    a FIFO dead-letter queue replaces its deduplication id with its message id ("Learn how to configure a
    dead-letter queue redrive", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).
    """

    message_id: str
    body: str
    message_attributes: Mapping[str, Mapping[str, Any]]  # as SendMessage takes them
    group_id: str | None
    sent_at: datetime | None
    receive_count: int | None

    kind: ClassVar[str] = "dead_letter"
    reason: ClassVar[str] = "dead_letter"
    shard_id: ClassVar[str | None] = None

    @classmethod
    def from_sqs(cls, message: Mapping[str, Any]) -> DeadLetter:
        """A ReceiveMessage message (received with every message and system attribute)."""
        system = message.get("Attributes") or {}
        attributes = {
            name: {
                key: value[key]
                for key in ("DataType", "StringValue", "BinaryValue")
                if value.get(key) is not None
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        sent = system.get("SentTimestamp")
        count = system.get("ApproximateReceiveCount")
        return cls(
            message_id=str(message["MessageId"]),
            body=str(message.get("Body", "")),
            message_attributes=attributes,
            group_id=system.get("MessageGroupId"),
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
            receive_count=int(count) if count else None,
        )

    @property
    def failed_at(self) -> datetime | None:
        return self.sent_at

    def describe(self) -> str:
        group = f", group {self.group_id}" if self.group_id else ""
        return (
            f"dead-letter message ({len(self.body.encode())} bytes, "
            f"{len(self.message_attributes)} attributes{group})"
        )


FailureMessage = FailedBatch | QuarantineMessage | DeadLetter | UnreadableMessage


def classify(body: str | bytes | Mapping[str, Any], message_id: str = "") -> FailureMessage:
    """Read a failure-destination message body (JSON text, or already parsed); never raises."""
    if isinstance(body, Mapping):
        document: object = body
    else:
        try:
            document = json.loads(body)
        except ValueError as exc:
            return UnreadableMessage(message_id, f"body is not JSON ({exc})")
    if (
        isinstance(document, dict)
        and document.get("Type") == "Notification"
        and isinstance(document.get("Message"), str)
    ):
        try:
            document = json.loads(document["Message"])
        except ValueError as exc:
            return UnreadableMessage(message_id, f"SNS notification's Message is not JSON ({exc})")
    if not isinstance(document, Mapping):
        return UnreadableMessage(message_id, "body is not a JSON object")
    kind = message_kind(document)
    if kind == "quarantine":
        return _quarantine_message(message_id, document)
    if kind == "lambda_on_failure":
        return _failed_batch(message_id, document)
    return UnreadableMessage(
        message_id, "neither a Lambda on-failure record nor a shardsafe quarantine envelope"
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


def _failed_batch(message_id: str, body: Mapping[str, Any]) -> FailureMessage:
    found = [key for key in _BATCH_INFO if isinstance(body.get(key), Mapping)]
    if not found:
        return UnreadableMessage(
            message_id, "a Lambda on-failure record for another source: Kinesis and DynamoDB streams are read"
        )
    info = body[found[0]]
    request = body.get("requestContext") or {}
    try:
        start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        if start > end:
            raise ValueError(f"startSequenceNumber {start} is after endSequenceNumber {end}")
        attempts = request.get("approximateInvokeCount")
        batch = FailedBatch(
            message_id=message_id,
            source=_BATCH_INFO[found[0]],
            stream_arn=stream_arn_of(str(info["streamArn"])),
            shard_id=str(info["shardId"]),
            start=start,
            end=end,
            size=int(info["batchSize"]) if info.get("batchSize") is not None else None,
            condition=request.get("condition"),
            attempts=int(attempts) if attempts is not None else None,
            first_arrival=parse_time(info.get("approximateArrivalOfFirstRecord")),
            failed_at=parse_time(body.get("timestamp")),
            function_arn=request.get("functionArn"),
            body=body,
        )
    except (KeyError, TypeError, ValueError) as exc:
        return UnreadableMessage(
            message_id, f"malformed Lambda on-failure record: {type(exc).__name__} {exc}"
        )
    if "payload" not in body:  # an SQS or SNS destination's message: coordinates only
        return batch
    try:
        return replace(batch, records=_carried_records(batch.source, start, end, body["payload"]))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return UnreadableMessage(
            message_id,
            f"malformed payload in a Lambda on-failure object (the batch's event): {type(exc).__name__} {exc}",
        )


def _carried_records(source: StreamSource, start: int, end: int, payload: object) -> tuple[StreamRecord, ...]:
    """The records of the event in an S3 on-failure object's ``payload`` (JSON text or an object)."""
    event = json.loads(payload) if isinstance(payload, str | bytes) else payload
    if not isinstance(event, Mapping) or not isinstance(event.get("Records"), list):
        raise ValueError("it is not an event with a Records list")
    records = []
    for index, record in enumerate(event["Records"]):
        if source == "kinesis":
            kinesis = record["kinesis"]
            sequence = str(kinesis["sequenceNumber"])
            carried = StreamRecord(
                data=base64.b64decode(kinesis["data"], validate=True),
                partition_key=str(kinesis["partitionKey"]),
                sequence_number=sequence,
                arrival=parse_time(kinesis.get("approximateArrivalTimestamp")),
            )
        else:
            change = record["dynamodb"]
            sequence = str(change["SequenceNumber"])
            carried = StreamRecord(
                data=json.dumps(record, separators=(",", ":")).encode(),
                partition_key="",
                sequence_number=sequence,
                arrival=parse_time(change.get("ApproximateCreationDateTime")),
            )
        if not start <= int(sequence) <= end:
            raise ValueError(f"record {index} ({sequence}) is outside the batch, {start}..{end}")
        records.append(carried)
    return tuple(records)


def _quarantine_message(message_id: str, body: Mapping[str, Any]) -> FailureMessage:
    envelope = parse_envelope(body)
    if envelope is None:
        return UnreadableMessage(
            message_id,
            "a shardsafe quarantine envelope that is malformed, or whose payload does not match its sha256",
        )
    record = envelope.record
    source = str(record.get("eventSource"))
    try:
        if source == KINESIS:  # redrive finds a Kinesis record by all of these
            for field in ("eventSourceArn", "shardId", "sequenceNumber", "partitionKey"):
                if record.get(field) is None:
                    raise KeyError(field)
        sequence = record.get("sequenceNumber")
        arn, shard, key = record.get("eventSourceArn"), record.get("shardId"), record.get("partitionKey")
        sub, hash_key = record.get("subSequenceNumber"), record.get("explicitHashKey")
        if sub is not None and (type(sub) is not int or sub < 0):
            raise ValueError(f"subSequenceNumber {sub!r} is not a whole number")
        return QuarantineMessage(
            message_id=message_id,
            envelope=envelope,
            event_source=source,
            stream_arn=stream_arn_of(str(arn)) if arn is not None else None,
            shard_id=str(shard) if shard is not None else None,
            sequence_number=int(sequence) if sequence is not None else None,  # decimal, up to 128 bits
            partition_key=str(key) if key is not None else None,
            arrival=parse_time(record.get("approximateArrivalTimestamp")),
            failed_at=parse_time(envelope.quarantined_at),
            sub_sequence_number=sub,
            explicit_hash_key=str(hash_key) if hash_key is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        return UnreadableMessage(
            message_id,
            f"quarantine envelope from {source} without the record's position: {type(exc).__name__} {exc}",
        )
