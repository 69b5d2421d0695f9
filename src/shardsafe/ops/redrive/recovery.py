"""Recover the records one failure message stands for, byte for byte, and say what could not be had.

A `FailedBatch` names its records by shard and sequence numbers. Lambda's S3 on-failure object carries
them (checked against the batch size Lambda reported); from a queue they are read back from the stream
(`shardsafe.ops.redrive.stream_reader`) while it still retains them. A `QuarantineMessage` carries its
record's payload, or points at the S3 object holding it (a claim check: fetched, checked against the
envelope's size and sha256), or keeps only its hash: then the record is re-read from the stream and
checked against the hash. A DynamoDB stream's batch is read back the same way with the DynamoDB
Streams API, its records as Lambda delivered them (JSON); a `DeadLetter` is its own record: the
message SQS moved to the dead-letter queue. Nothing here decides what happens to the message (that is
`shardsafe.ops.redrive.decide`); recovery only reports, with warnings when the stream is about to trim.

    recovery = recover(kinesis, FailedBatch.from_message(body, message_id), s3=s3)
    recovery.records, recovery.unrecoverable, recovery.warnings
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from shardsafe.core import sources
from shardsafe.core.sources.kpl import AggregateError, deaggregate
from shardsafe.ops.aws import error_code, stream_ref
from shardsafe.ops.failures import (
    DeadLetter,
    FailedBatch,
    FailureMessage,
    PayloadAt,
    QuarantineMessage,
    StreamRecord,
    UnreadableMessage,
)
from shardsafe.ops.redrive.stream_reader import DYNAMODB, KINESIS, read_sequence_range

__all__ = [
    "CLAIM_CHECK_MISMATCH",
    "CLAIM_CHECK_MISSING",
    "UNREADABLE_MESSAGE",
    "UNSUPPORTED_SOURCE",
    "RecoveredRecord",
    "Recovery",
    "Unrecoverable",
    "recover",
]

# Warn when less than this share of the retention period (and at least an hour) is left.
RETENTION_MARGIN = 0.1

# Reasons an Unrecoverable gives besides the stream reader's (trimmed, shard_not_found, ...).
UNREADABLE_MESSAGE: Final = "unreadable_message"
"""The message is neither a Lambda on-failure record nor a quarantine envelope (or is malformed)."""
UNSUPPORTED_SOURCE: Final = "unsupported_source"
"""The records came from a source redrive does not read back (an event source it does not know)."""
NO_POSITION: Final = "no_position"
"""Only the record's hash was kept, and its envelope does not say where to re-read it (DynamoDB, SQS)."""
CLAIM_CHECK_MISSING: Final = "claim_check_missing"
"""The S3 object an envelope points at is gone (expired by the bucket's lifecycle, or deleted)."""
CLAIM_CHECK_MISMATCH: Final = "claim_check_mismatch"
"""The S3 object an envelope points at does not hold the record: its size or sha256 differs."""
# S3's error codes for an object (or bucket) that is not there.
_GONE = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


@dataclass(frozen=True)
class RecoveredRecord:
    """A failed record, recovered byte for byte, with where it came from."""

    data: bytes
    partition_key: str
    stream_arn: str
    shard_id: str
    sequence_number: str
    arrival: datetime | None
    message_id: str
    kind: str  # "on_failure", "quarantine" or "dead_letter"
    reason: str
    event_source: str = sources.KINESIS  # aws:kinesis, aws:dynamodb (data: the record's JSON), aws:sqs
    dead_letter: DeadLetter | None = None  # a dead-letter queue's message: what is sent back with it
    #: A KPL user record (quarantined on its own): its place in the aggregate whose ``sequence_number``
    #: it has, and the explicit hash key it was put with. It is re-put on its own, not re-aggregated.
    sub_sequence_number: int | None = None
    explicit_hash_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        kpl = (
            {}
            if self.sub_sequence_number is None
            else {"subSequenceNumber": self.sub_sequence_number, "explicitHashKey": self.explicit_hash_key}
        )
        return {
            "messageId": self.message_id,
            "kind": self.kind,
            "reason": self.reason,
            "eventSource": self.event_source,
            "streamArn": self.stream_arn,
            "shardId": self.shard_id,
            "sequenceNumber": self.sequence_number,
            **kpl,
            "partitionKey": self.partition_key,
            "approximateArrivalTimestamp": self.arrival.astimezone(UTC).isoformat() if self.arrival else None,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "data": base64.b64encode(self.data).decode(),
        }


@dataclass(frozen=True)
class Unrecoverable:
    """Records a message stands for that could not be recovered, and why."""

    message_id: str
    shard_id: str | None
    first: str | None
    last: str | None
    reason: str  # "trimmed", "sha256_mismatch", "read_error", "count_mismatch", CLAIM_CHECK_MISSING, ...
    detail: str
    count: int | None = None  # None when the stream cannot tell how many

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "unrecoverable",
            "messageId": self.message_id,
            "shardId": self.shard_id,
            "firstSequenceNumber": self.first,
            "lastSequenceNumber": self.last,
            "reason": self.reason,
            "count": self.count,
            "message": self.detail,
        }


@dataclass
class Recovery:
    """What `recover` found for one message."""

    message: FailureMessage
    records: list[RecoveredRecord] = field(default_factory=list)
    unrecoverable: list[Unrecoverable] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> frozenset[str]:
        """Why records could not be recovered; empty when all were."""
        return frozenset(u.reason for u in self.unrecoverable)

    @property
    def lost(self) -> int:
        """How many records could not be recovered (a range of unknown size counts as one)."""
        if not self.unrecoverable:
            return 0
        message = self.message
        if isinstance(message, FailedBatch) and message.size is not None:
            return max(message.size - len(self.records), 1)
        return sum(u.count or 1 for u in self.unrecoverable)


def recover(
    kinesis: Any,
    message: FailureMessage,
    *,
    s3: Any = None,
    now: datetime | None = None,
    retention_hours: dict[str, int | None] | None = None,
    page_limit: int = 1000,
    streams: Any = None,
) -> Recovery:
    """The records one failure message stands for, what could not be had, and warnings.

    ``s3`` is a boto3 S3 client, for claim checks (without one, a record kept in S3 is unrecoverable
    with reason ``read_error``); ``streams`` a ``dynamodbstreams`` client, for reading back a DynamoDB
    stream's batch (without one, such a batch is unrecoverable with reason ``read_error``). ``retention_hours`` caches each stream's retention across calls;
    ``page_limit`` is the ``Limit`` of each GetRecords call.
    """
    recovery = Recovery(message)
    cache = retention_hours if retention_hours is not None else {}
    at = now or datetime.now(UTC)
    match message:
        case UnreadableMessage():
            recovery.unrecoverable.append(
                Unrecoverable(message.message_id, None, None, None, UNREADABLE_MESSAGE, message.problem)
            )
        case DeadLetter():
            recovery.records.append(_from_dead_letter(message))
        case FailedBatch() if message.records is not None:
            _recover_carried(message, message.records, recovery)
        case FailedBatch(source="kinesis"):
            _check_retention(kinesis, message.stream_arn, message.first_arrival, at, cache, message, recovery)
            _recover_batch(kinesis, message, recovery, page_limit)
        case FailedBatch():  # a DynamoDB stream keeps records 24 hours (no retention to look up)
            _recover_batch(streams, message, recovery, page_limit)
        case QuarantineMessage(event_source=source) if source not in _QUARANTINE_SOURCES:
            recovery.unrecoverable.append(
                Unrecoverable(
                    message.message_id,
                    message.shard_id,
                    None,
                    None,
                    UNSUPPORTED_SOURCE,
                    f"quarantined from {source}: redrive recovers records of {', '.join(_QUARANTINE_SOURCES)}",
                    1,
                )
            )
        case QuarantineMessage() if message.payload_at is PayloadAt.INLINE:
            _recover_inline(message, recovery)
        case QuarantineMessage() if message.payload_at is PayloadAt.S3:
            _fetch_claim_check(s3, message, recovery)
        case QuarantineMessage(event_source=sources.KINESIS):
            _check_retention(kinesis, str(message.stream_arn), message.arrival, at, cache, message, recovery)
            _reread_quarantined(kinesis, message, recovery)
        case QuarantineMessage():
            recovery.unrecoverable.append(
                Unrecoverable(
                    message.message_id,
                    message.shard_id,
                    None,
                    None,
                    NO_POSITION,
                    f"quarantined from {message.event_source} with only its sha256 kept, and no shard to "
                    "re-read it from: the record is not recoverable",
                    1,
                )
            )
    return recovery


_QUARANTINE_SOURCES = (sources.KINESIS, sources.DYNAMODB, sources.SQS)


def _recover_batch(client: Any, batch: FailedBatch, recovery: Recovery, page_limit: int) -> None:
    """Read the batch back from its stream: ``client`` is a Kinesis or DynamoDB Streams client."""
    message_id = batch.message_id
    first, last = str(batch.start), str(batch.end)
    if client is None:
        recovery.unrecoverable.append(
            Unrecoverable(
                message_id,
                batch.shard_id,
                first,
                last,
                "read_error",
                f"the batch is on {batch.stream_arn} and redrive was given no {batch.source} streams client",
                batch.size,
            )
        )
        return
    api = KINESIS if batch.source == "kinesis" else DYNAMODB
    try:
        read = read_sequence_range(
            client, batch.stream_arn, batch.shard_id, first, last, page_limit=page_limit, api=api
        )
    except Exception as exc:
        if error_code(exc) is None:
            raise
        recovery.unrecoverable.append(
            Unrecoverable(message_id, batch.shard_id, first, last, "read_error", f"{error_code(exc)}: {exc}")
        )
        return
    recovery.records.extend(_from_batch(batch, record) for record in read.records)
    short = (batch.size - len(read.records)) if batch.size is not None else None
    for missing in read.missing:
        count = short if len(read.missing) == 1 else None
        recovery.unrecoverable.append(
            Unrecoverable(
                message_id,
                missing.shard_id,
                missing.first,
                missing.last,
                missing.reason,
                missing.detail,
                count,
            )
        )
    if read.missing or not short:
        return
    if short > 0:
        recovery.unrecoverable.append(
            Unrecoverable(
                message_id,
                batch.shard_id,
                first,
                last,
                "count_mismatch",
                f"Lambda reported {batch.size} records between {first} and {last}; "
                f"the stream has {len(read.records)} there",
                short,
            )
        )
    else:
        recovery.warnings.append(
            f"batch {batch.shard_id} {first}..{last}: the stream has {len(read.records)} records there, "
            f"Lambda reported {batch.size} (an event filter may have dropped some); all are redriven"
        )


def _recover_carried(batch: FailedBatch, records: tuple[StreamRecord, ...], recovery: Recovery) -> None:
    """The records Lambda wrote into its S3 object: no stream read; their count is checked."""
    recovery.records.extend(_from_batch(batch, record) for record in records)
    if batch.size is None or batch.size == len(records):
        return
    first, last = str(batch.start), str(batch.end)
    if len(records) < batch.size:
        recovery.unrecoverable.append(
            Unrecoverable(
                batch.message_id,
                batch.shard_id,
                first,
                last,
                "count_mismatch",
                f"Lambda reported {batch.size} records between {first} and {last}; "
                f"its S3 object holds {len(records)}",
                batch.size - len(records),
            )
        )
    else:
        recovery.warnings.append(
            f"batch {batch.shard_id} {first}..{last}: its S3 object holds {len(records)} records, "
            f"Lambda reported {batch.size}; all are redriven"
        )


def _from_batch(batch: FailedBatch, record: StreamRecord) -> RecoveredRecord:
    return RecoveredRecord(
        data=record.data,
        partition_key=record.partition_key,
        stream_arn=batch.stream_arn,
        shard_id=batch.shard_id,
        sequence_number=record.sequence_number,
        arrival=record.arrival,
        message_id=batch.message_id,
        kind=batch.kind,
        reason=batch.reason,
        event_source=f"aws:{batch.source}",
    )


def _from_dead_letter(message: DeadLetter) -> RecoveredRecord:
    """The message SQS moved to the dead-letter queue, as one record; its identity is its message id."""
    return RecoveredRecord(
        data=message.body.encode(),
        partition_key=message.group_id or "",
        stream_arn="",
        shard_id="",
        sequence_number=message.message_id,
        arrival=message.sent_at,
        message_id=message.message_id,
        kind=message.kind,
        reason=message.reason,
        event_source=sources.SQS,
        dead_letter=message,
    )


def _fetch_claim_check(s3: Any, message: QuarantineMessage, recovery: Recovery) -> None:
    """The record's bytes from the S3 object its envelope points at, checked against size and sha256."""
    check = message.claim_check
    assert check is not None  # PayloadAt.S3
    where = f"s3://{check.bucket}/{check.key}"
    seq = None if message.sequence_number is None else str(message.sequence_number)

    def unrecoverable(reason: str, detail: str) -> None:
        recovery.unrecoverable.append(
            Unrecoverable(message.message_id, message.shard_id, seq, seq, reason, detail, 1)
        )

    if s3 is None:
        unrecoverable("read_error", f"the record is kept in {where} and redrive was given no S3 client")
        return
    try:
        data = bytes(s3.get_object(Bucket=check.bucket, Key=check.key)["Body"].read())
    except Exception as exc:
        code = error_code(exc)
        if code is None:
            raise
        if code in _GONE:
            unrecoverable(
                CLAIM_CHECK_MISSING,
                f"{where} is gone ({code}): the bucket's lifecycle expired it, or it was deleted",
            )
        else:
            unrecoverable("read_error", f"{where}: {code}: {exc}")
        return
    if len(data) != message.size:
        unrecoverable(
            CLAIM_CHECK_MISMATCH, f"{where} holds {len(data)} bytes; the envelope says {message.size}"
        )
    elif hashlib.sha256(data).hexdigest() != message.sha256:
        unrecoverable(CLAIM_CHECK_MISMATCH, f"{where} does not match the envelope's sha256 {message.sha256}")
    else:
        recovery.records.append(_from_quarantine(message, data))


def _recover_inline(message: QuarantineMessage, recovery: Recovery) -> None:
    payload = message.payload  # checked against its sha256 when the envelope was parsed
    assert payload is not None
    recovery.records.append(_from_quarantine(message, payload))


def _reread_quarantined(kinesis: Any, message: QuarantineMessage, recovery: Recovery) -> None:
    seq = str(message.sequence_number)

    def unrecoverable(reason: str, detail: str) -> None:
        recovery.unrecoverable.append(
            Unrecoverable(message.message_id, message.shard_id, seq, seq, reason, detail, 1)
        )

    try:
        read = read_sequence_range(kinesis, str(message.stream_arn), str(message.shard_id), seq, seq)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        unrecoverable("read_error", f"{error_code(exc)}: {exc}")
        return
    if not read.records:
        missing = read.missing[0] if read.missing else None
        if missing is not None:
            unrecoverable(missing.reason, missing.detail)
        else:
            unrecoverable("not_found", "the stream returned no record at this sequence number")
        return
    data = read.records[0].data
    if message.sub_sequence_number is not None:  # a KPL user record: the stream has its aggregate
        try:
            data = deaggregate(data)[message.sub_sequence_number][2]
        except (AggregateError, IndexError) as error:
            unrecoverable(
                "not_found",
                f"the record read from the stream has no user record {message.sub_sequence_number}: {error}",
            )
            return
    if hashlib.sha256(data).hexdigest() != message.sha256:
        unrecoverable(
            "sha256_mismatch", "the record read from the stream does not match the envelope's sha256"
        )
        return
    recovery.records.append(_from_quarantine(message, data))


def _from_quarantine(message: QuarantineMessage, data: bytes) -> RecoveredRecord:
    # A Kinesis quarantine message has every position field (shardsafe.failures checks); a DynamoDB
    # one has no shard or partition key, an SQS one (standard queue) no sequence number either.
    return RecoveredRecord(
        data=data,
        partition_key=message.partition_key or "",
        stream_arn=message.stream_arn or "",
        shard_id=message.shard_id or "",
        sequence_number="" if message.sequence_number is None else str(message.sequence_number),
        arrival=message.arrival,
        message_id=message.message_id,
        kind=message.kind,
        reason=message.reason,
        event_source=message.event_source,
        sub_sequence_number=message.sub_sequence_number,
        explicit_hash_key=message.explicit_hash_key,
    )


def _check_retention(
    kinesis: Any,
    stream: str,
    first_arrival: datetime | None,
    now: datetime,
    cache: dict[str, int | None],
    message: FailedBatch | QuarantineMessage,
    recovery: Recovery,
) -> None:
    """Warn, with the numbers, when the stream is about to trim (or has trimmed) these records."""
    if first_arrival is None:
        return
    if stream not in cache:
        try:
            summary = kinesis.describe_stream_summary(**stream_ref(stream))["StreamDescriptionSummary"]
            cache[stream] = int(summary["RetentionPeriodHours"])
        except Exception as exc:
            if error_code(exc) is None:
                raise
            cache[stream] = None
            recovery.warnings.append(f"cannot read the retention of {stream}: {error_code(exc)}: {exc}")
    retention = cache[stream]
    if retention is None:
        return
    age = (now - first_arrival).total_seconds() / 3600
    left = retention - age
    what = f"{message.describe()}: its first record arrived {age:.1f} h ago and {stream} keeps records {retention} h"
    if left <= 0:
        recovery.warnings.append(f"{what}; past retention, so its records may already be trimmed")
    elif left <= max(1.0, retention * RETENTION_MARGIN):
        recovery.warnings.append(f"{what}; {left:.1f} h left to redrive it before Kinesis trims it")
