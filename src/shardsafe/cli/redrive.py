"""Redrive the failure queue: recover each failed record and put it back, or into a file.

A Lambda on-failure message names a batch by shard and sequence numbers; its records are read
back from the stream (`shardsafe.cli.stream_reader`) while the stream still retains them. A
shardsafe quarantine envelope carries its record's payload, or only its hash when it was too
big for SQS, in which case the record is re-read from the stream and checked against the hash.
A message is deleted only once every record it stands for has been written.

    from shardsafe.cli import redrive as r
    result = r.redrive(sqs, kinesis, queue_url, r.FileTarget(Path("failed.jsonl")))
    print(result.summary())
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shardsafe.aws import error_code, stream_ref
from shardsafe.cli.messages import (
    FailedBatch,
    FailureMessage,
    QuarantinedRecord,
    ReceivedMessage,
    UnreadableMessage,
    parse_failure_message,
)
from shardsafe.cli.putter import PutEntry, put_entries
from shardsafe.cli.stream_reader import read_sequence_range

__all__ = [
    "FileTarget",
    "MessageOutcome",
    "RecoveredRecord",
    "Recovery",
    "RedriveFilter",
    "RedriveResult",
    "StreamTarget",
    "Target",
    "Unrecoverable",
    "recover",
    "redrive",
    "resolve_queue_url",
]

logger = logging.getLogger(__name__)

# Warn when less than this share of the retention period (and at least an hour) is left.
RETENTION_MARGIN = 0.1


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
    kind: str  # "on_failure" or "quarantine"
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "kind": self.kind,
            "reason": self.reason,
            "streamArn": self.stream_arn,
            "shardId": self.shard_id,
            "sequenceNumber": self.sequence_number,
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
    reason: str  # "trimmed", "shard_not_found", "sha256_mismatch", "read_error", ...
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
    def lost(self) -> int:
        """How many records could not be recovered (a range of unknown size counts as one)."""
        if not self.unrecoverable:
            return 0
        message = self.message
        if isinstance(message, FailedBatch) and message.batch_size is not None:
            return max(message.batch_size - len(self.records), 1)
        return sum(u.count or 1 for u in self.unrecoverable)


@dataclass(frozen=True)
class MessageOutcome:
    """What redrive did (or, in a dry run, would do) with one message."""

    message_id: str
    description: str
    recovered: int
    written: int
    unrecoverable: int
    action: str  # "deleted", "kept", "would delete", "would keep"
    why: str = ""

    def line(self) -> str:
        because = f"; {self.why}" if self.why else ""
        return (
            f"{self.action}: {self.message_id}: {self.description}: recovered {self.recovered}, "
            f"written {self.written}, unrecoverable {self.unrecoverable}{because}"
        )


@dataclass
class RedriveResult:
    """Counts for the summary, the unrecoverable records and the warnings, in the order met."""

    dry_run: bool = False
    target: str = ""
    messages_read: int = 0
    messages_skipped: int = 0
    messages_deleted: int = 0
    messages_kept: int = 0
    records_recovered: int = 0
    records_reput: int = 0
    records_written: int = 0
    records_unrecoverable: int = 0
    outcomes: list[MessageOutcome] = field(default_factory=list)
    unrecoverable: list[Unrecoverable] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every matched message was redriven and deleted (or would be, in a dry run)."""
        return self.messages_kept == 0 and not self.unrecoverable

    def summary(self) -> str:
        if self.dry_run:
            prefix, deleted, kept, reput, written = (
                "dry run, nothing written or deleted",
                "would delete",
                "would keep",
                "would re-put",
                "would write to file",
            )
        else:
            prefix, deleted, kept, reput, written = (
                "redrive",
                "deleted",
                "kept",
                "re-put",
                "written to file",
            )
        return (
            f"{prefix}: messages read {self.messages_read}, skipped by filters {self.messages_skipped}, "
            f"{deleted} {self.messages_deleted}, {kept} {self.messages_kept}; "
            f"records recovered {self.records_recovered}, {reput} {self.records_reput}, "
            f"{written} {self.records_written}, unrecoverable {self.records_unrecoverable}"
        )


@dataclass(frozen=True)
class RedriveFilter:
    """Which messages to redrive; an empty set or None matches everything."""

    reasons: frozenset[str] = frozenset()
    shards: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, message: FailureMessage) -> bool:
        if self.kinds and message.kind not in self.kinds:
            return False
        if self.reasons and message.reason not in self.reasons:
            return False
        if self.shards and message.shard_id not in self.shards:
            return False
        if self.since is None and self.until is None:
            return True
        at = message.failed_at or message.message.sent_at
        if at is None:
            return False
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


class Target(Protocol):
    """Where recovered records go. ``write`` says, per record, whether it is safely written."""

    @property
    def description(self) -> str: ...

    @property
    def puts_to_stream(self) -> bool: ...

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]: ...


class FileTarget:
    """Appends records as JSON Lines (base64 ``data`` plus coordinates) and fsyncs before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"
        self.puts_to_stream = False

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        with self.path.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record.to_json()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return [True] * len(records)


class StreamTarget:
    """Re-puts records with their original partition keys, in order per key.

    Records go back to the stream they came from, or to ``stream`` when given.
    """

    def __init__(self, client: Any, stream: str | None = None, *, max_attempts: int = 8) -> None:
        self.client = client
        self.stream = stream
        self.max_attempts = max_attempts
        self.puts_to_stream = True
        self.description = f"stream {stream}" if stream else "the streams the records came from"

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        written = [False] * len(records)
        by_stream: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            by_stream.setdefault(self.stream or record.stream_arn, []).append(index)
        for stream, indexes in by_stream.items():
            receipts = put_entries(
                self.client,
                stream,
                [PutEntry(records[i].data, records[i].partition_key) for i in indexes],
                keep_key_order=True,
                max_attempts=self.max_attempts,
            )
            for index, receipt in zip(indexes, receipts, strict=True):
                written[index] = receipt.ok
        return written


def resolve_queue_url(sqs: Any, queue: str) -> str:
    """A queue URL from a URL, an ARN (arn:aws:sqs:region:account:name) or a name."""
    if queue.startswith(("http://", "https://")):
        return queue
    if queue.startswith("arn:"):
        *_, account, name = queue.split(":")
        return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
    return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def redrive(
    sqs: Any,
    kinesis: Any,
    queue_url: str,
    target: Target,
    *,
    filters: RedriveFilter | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    accept_partial: bool = False,
    visibility_timeout_s: int = 300,
    wait_time_s: int = 1,
    page_limit: int = 1000,
    on_outcome: Callable[[MessageOutcome], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RedriveResult:
    """Recover the records of every matching message on ``queue_url`` and write them to ``target``.

    A message is deleted once all its records are written. One with records that cannot be
    recovered is kept, and nothing of it written, unless ``accept_partial``: then what could be
    recovered is written and the message deleted (the rest is reported, never silently skipped).
    Messages skipped or kept are made visible again at the end. ``limit`` caps the messages
    redriven. With ``dry_run`` the records are still read, to show what would happen.
    ``page_limit`` is the ``Limit`` of each GetRecords call.
    """
    filters = filters or RedriveFilter()
    result = RedriveResult(dry_run=dry_run, target=target.description)
    seen: set[str] = set()
    release: list[str] = []
    retention_hours: dict[str, int | None] = {}
    matched = 0
    idle_receives = 0
    while limit is None or matched < limit:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_time_s,
            VisibilityTimeout=visibility_timeout_s,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp"],
        )
        received = [ReceivedMessage.from_sqs(m) for m in response.get("Messages", [])]
        fresh = [m for m in received if m.message_id not in seen]
        release.extend(m.receipt_handle for m in received if m.message_id in seen)
        if not fresh:
            # Held messages can come back when a run outlives the visibility timeout.
            idle_receives += 1
            if not received or idle_receives >= 3:
                break
            continue
        idle_receives = 0
        recoveries: list[Recovery] = []
        for message in fresh:
            if limit is not None and matched >= limit:
                release.append(message.receipt_handle)
                continue
            seen.add(message.message_id)
            result.messages_read += 1
            parsed = parse_failure_message(message)
            if not filters.matches(parsed):
                result.messages_skipped += 1
                release.append(message.receipt_handle)
                continue
            matched += 1
            recovery = recover(
                kinesis, parsed, now=now(), retention_hours=retention_hours, page_limit=page_limit
            )
            for warning in recovery.warnings:
                result.warnings.append(warning)
                _log(logging.WARNING, "retention_warning", messageId=message.message_id, message=warning)
            recoveries.append(recovery)
        _settle(sqs, queue_url, target, recoveries, result, release, dry_run, accept_partial, on_outcome)

    for handle in release:
        _release(sqs, queue_url, handle)
    return result


def recover(
    kinesis: Any,
    message: FailureMessage,
    *,
    now: datetime | None = None,
    retention_hours: dict[str, int | None] | None = None,
    page_limit: int = 1000,
) -> Recovery:
    """The records one failure-queue message stands for, what could not be had, and warnings."""
    recovery = Recovery(message)
    cache = retention_hours if retention_hours is not None else {}
    at = now or datetime.now(UTC)
    if isinstance(message, UnreadableMessage):
        recovery.unrecoverable.append(
            Unrecoverable(message.message.message_id, None, None, None, "unreadable_message", message.problem)
        )
    elif isinstance(message, FailedBatch):
        _check_retention(kinesis, message.stream_arn, message.first_arrival, at, cache, message, recovery)
        _recover_batch(kinesis, message, recovery, page_limit)
    elif message.payload is not None:
        _recover_inline(message, recovery)
    else:
        _check_retention(kinesis, message.stream_arn, message.arrival, at, cache, message, recovery)
        _reread_quarantined(kinesis, message, recovery)
    return recovery


def _recover_batch(kinesis: Any, batch: FailedBatch, recovery: Recovery, page_limit: int) -> None:
    message_id = batch.message.message_id
    first, last = batch.start_sequence_number, batch.end_sequence_number
    try:
        read = read_sequence_range(
            kinesis, batch.stream_arn, batch.shard_id, first, last, page_limit=page_limit
        )
    except Exception as exc:
        if error_code(exc) is None:
            raise
        recovery.unrecoverable.append(
            Unrecoverable(message_id, batch.shard_id, first, last, "read_error", f"{error_code(exc)}: {exc}")
        )
        return
    recovery.records.extend(
        RecoveredRecord(
            data=record.data,
            partition_key=record.partition_key,
            stream_arn=batch.stream_arn,
            shard_id=batch.shard_id,
            sequence_number=record.sequence_number,
            arrival=record.arrival,
            message_id=message_id,
            kind=batch.kind,
            reason=batch.reason,
        )
        for record in read.records
    )
    short = (batch.batch_size - len(read.records)) if batch.batch_size is not None else None
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
    if not read.missing and short:
        if short > 0:
            recovery.unrecoverable.append(
                Unrecoverable(
                    message_id,
                    batch.shard_id,
                    first,
                    last,
                    "count_mismatch",
                    f"Lambda reported {batch.batch_size} records between {first} and {last}; "
                    f"the stream has {len(read.records)} there",
                    short,
                )
            )
        else:
            recovery.warnings.append(
                f"batch {batch.shard_id} {first}..{last}: the stream has {len(read.records)} records there, "
                f"Lambda reported {batch.batch_size} (an event filter may have dropped some); all are redriven"
            )


def _recover_inline(record: QuarantinedRecord, recovery: Recovery) -> None:
    # parse_envelope has checked the payload against its sha256.
    assert record.payload is not None
    recovery.records.append(_from_quarantine(record, record.payload))


def _reread_quarantined(kinesis: Any, record: QuarantinedRecord, recovery: Recovery) -> None:
    seq = record.sequence_number

    def unrecoverable(reason: str, detail: str) -> None:
        recovery.unrecoverable.append(
            Unrecoverable(record.message.message_id, record.shard_id, seq, seq, reason, detail, 1)
        )

    try:
        read = read_sequence_range(kinesis, record.stream_arn, record.shard_id, seq, seq)
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
    if hashlib.sha256(data).hexdigest() != record.sha256:
        unrecoverable(
            "sha256_mismatch", "the record read from the stream does not match the envelope's sha256"
        )
        return
    recovery.records.append(_from_quarantine(record, data))


def _from_quarantine(record: QuarantinedRecord, data: bytes) -> RecoveredRecord:
    return RecoveredRecord(
        data=data,
        partition_key=record.partition_key,
        stream_arn=record.stream_arn,
        shard_id=record.shard_id,
        sequence_number=record.sequence_number,
        arrival=record.arrival,
        message_id=record.message.message_id,
        kind=record.kind,
        reason=record.reason,
    )


def _check_retention(
    kinesis: Any,
    stream: str,
    first_arrival: datetime | None,
    now: datetime,
    cache: dict[str, int | None],
    message: FailedBatch | QuarantinedRecord,
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


def _settle(
    sqs: Any,
    queue_url: str,
    target: Target,
    recoveries: list[Recovery],
    result: RedriveResult,
    release: list[str],
    dry_run: bool,
    accept_partial: bool,
    on_outcome: Callable[[MessageOutcome], None] | None,
) -> None:
    """Write what can be written, delete the messages fully written, keep (and report) the rest."""
    plans = [(recovery, _why_not_write(recovery, accept_partial)) for recovery in recoveries]
    records = [record for recovery, why in plans if why is None for record in recovery.records]
    written = [True] * len(records) if dry_run or not records else target.write(records)
    position = 0
    for recovery, why_not in plans:
        message = recovery.message.message
        recovered = len(recovery.records)
        result.records_recovered += recovered
        result.records_unrecoverable += recovery.lost
        for unrecoverable in recovery.unrecoverable:
            result.unrecoverable.append(unrecoverable)
            _log(logging.ERROR, **unrecoverable.to_json())
        done, why = 0, why_not or ""
        if why_not is None:
            done = sum(written[position : position + recovered])
            position += recovered
            if done < recovered:
                why = f"{recovered - done} of {recovered} records could not be written; run again to retry"
            if target.puts_to_stream:
                result.records_reput += done
            else:
                result.records_written += done
        if not why and not dry_run and not _delete(sqs, queue_url, message, result):
            why = "written, but the message could not be deleted: it will come back; delete it by hand"
        if not why:
            result.messages_deleted += 1
            if dry_run:
                release.append(message.receipt_handle)
        else:
            result.messages_kept += 1
            release.append(message.receipt_handle)
        action = ("would keep" if why else "would delete") if dry_run else ("kept" if why else "deleted")
        outcome = MessageOutcome(
            message.message_id, recovery.message.describe(), recovered, done, recovery.lost, action, why
        )
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)


def _why_not_write(recovery: Recovery, accept_partial: bool) -> str | None:
    """Why a message's records are not written (so it is kept), or None to write them."""
    if isinstance(recovery.message, UnreadableMessage):
        return "left in the queue for a person to look at"
    if not recovery.unrecoverable or accept_partial:
        return None
    reasons = ", ".join(sorted({u.reason for u in recovery.unrecoverable}))
    return (
        f"nothing written as some records are unrecoverable ({reasons}); --accept-partial redrives the rest"
    )


def _delete(sqs: Any, queue_url: str, message: ReceivedMessage, result: RedriveResult) -> bool:
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        # Typically a run that outlived --visibility-timeout: the receipt handle is stale.
        warning = f"message {message.message_id} was redriven but not deleted ({error_code(exc)}: {exc})"
        result.warnings.append(warning)
        _log(logging.WARNING, "delete_failed", messageId=message.message_id, message=warning)
        return False
    return True


def _release(sqs: Any, queue_url: str, receipt_handle: str) -> None:
    """Make a message we are not deleting visible again right away."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        _log(logging.WARNING, "release_failed", message=f"could not make a message visible again: {exc}")


def _log(level: int, event: str, **fields: Any) -> None:
    logger.log(level, json.dumps({"event": event, **fields}))
