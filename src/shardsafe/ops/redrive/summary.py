"""What a redrive run did: one outcome per message (or S3 object), and the counts for the summary line."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from shardsafe.core.sources import KINESIS
from shardsafe.core.sources.kpl import AggregateError, deaggregate, is_aggregate
from shardsafe.ops.redrive.recovery import RecoveredRecord, Unrecoverable

__all__ = ["MessageOutcome", "RecordOutcome", "RedriveResult"]


@dataclass(frozen=True)
class RecordOutcome:
    """One recovered record: where it came from, its size and sha256, and whether it was written."""

    shard_id: str
    sequence_number: str
    size: int
    sha256: str
    written: bool  # in a dry run: would be
    sub_sequence_number: int | None = None  # a KPL user record's place in its aggregate

    @classmethod
    def of(cls, record: RecoveredRecord, written: bool) -> RecordOutcome:
        digest = hashlib.sha256(record.data).hexdigest()
        return cls(
            record.shard_id,
            record.sequence_number,
            len(record.data),
            digest,
            written,
            record.sub_sequence_number,
        )

    def to_json(self) -> dict[str, Any]:
        kpl = {} if self.sub_sequence_number is None else {"subSequenceNumber": self.sub_sequence_number}
        return {
            "shardId": self.shard_id,
            "sequenceNumber": self.sequence_number,
            **kpl,
            "size": self.size,
            "sha256": self.sha256,
            "written": self.written,
        }


@dataclass(frozen=True)
class MessageOutcome:
    """What redrive did (or, in a dry run, would do) with one message or S3 object (``s3://`` id)."""

    message_id: str
    description: str
    recovered: int
    written: int
    unrecoverable: int
    action: str  # "deleted", "kept", "would delete", "would keep"
    why: str = ""
    records: tuple[RecordOutcome, ...] = ()

    def line(self) -> str:
        because = f"; {self.why}" if self.why else ""
        return (
            f"{self.action}: {self.message_id}: {self.description}: recovered {self.recovered}, "
            f"written {self.written}, unrecoverable {self.unrecoverable}{because}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "action": self.action,
            "description": self.description,
            "recovered": self.recovered,
            "written": self.written,
            "unrecoverable": self.unrecoverable,
            "why": self.why,
            "records": [record.to_json() for record in self.records],
        }


@dataclass
class RedriveResult:
    """Counts for the summary, the unrecoverable records and the warnings, in the order met.

    ``unit`` names what was read: SQS ``messages``, or S3 ``objects`` (counted in the ``messages_*``
    fields all the same); ``payload_objects`` counts claim-check payload objects a bucket run left
    alone (each is redriven, and deleted, with its envelope).
    """

    dry_run: bool = False
    target: str = ""
    source: str = ""
    unit: str = "messages"
    payload_objects: int = 0
    messages_read: int = 0
    messages_skipped: int = 0
    messages_deleted: int = 0
    messages_kept: int = 0
    records_recovered: int = 0
    records_reput: int = 0
    records_written: int = 0
    records_unrecoverable: int = 0
    #: Of the records recovered: KPL user records quarantined on their own (re-put on their own), and
    #: KPL aggregates of on-failure batches (re-put whole) with the user records they hold.
    user_records: int = 0
    aggregates: int = 0
    aggregated_user_records: int = 0
    outcomes: list[MessageOutcome] = field(default_factory=list)
    unrecoverable: list[Unrecoverable] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every matched message was redriven and deleted (or would be, in a dry run)."""
        return self.messages_kept == 0 and not self.unrecoverable

    def count_kpl(self, records: list[RecoveredRecord]) -> None:
        """Count the KPL user records and aggregates among records recovered."""
        for record in records:
            if record.sub_sequence_number is not None:
                self.user_records += 1
            elif record.event_source == KINESIS and is_aggregate(record.data):
                self.aggregates += 1
                with contextlib.suppress(AggregateError):  # a broken one goes back whole all the same
                    self.aggregated_user_records += len(deaggregate(record.data))

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
        payloads = (
            f"; claim-check payload objects left for their envelopes {self.payload_objects}"
            if self.payload_objects
            else ""
        )
        kpl = []
        if self.user_records:
            kpl.append(f"{self.user_records} KPL user records on their own")
        if self.aggregates:
            kpl.append(
                f"{self.aggregates} KPL aggregates holding {self.aggregated_user_records} user records"
            )
        recovered = f"{self.records_recovered}" + (f" ({', '.join(kpl)})" if kpl else "")
        return (
            f"{prefix}: {self.unit} read {self.messages_read}, skipped by filters {self.messages_skipped}, "
            f"{deleted} {self.messages_deleted}, {kept} {self.messages_kept}; "
            f"records recovered {recovered}, {reput} {self.records_reput}, "
            f"{written} {self.records_written}, unrecoverable {self.records_unrecoverable}{payloads}"
        )

    def to_json(self) -> dict[str, Any]:
        """The summary as ``--output json`` prints it, with every message's outcome."""
        return {
            "command": "redrive",
            "dryRun": self.dry_run,
            "source": self.source,
            "unit": self.unit,
            "target": self.target,
            "clean": self.clean,
            "messages": {
                "read": self.messages_read,
                "skipped": self.messages_skipped,
                "deleted": self.messages_deleted,
                "kept": self.messages_kept,
            },
            "payloadObjects": self.payload_objects,
            "records": {
                "recovered": self.records_recovered,
                "reput": self.records_reput,
                "written": self.records_written,
                "unrecoverable": self.records_unrecoverable,
                "userRecords": self.user_records,
                "aggregates": self.aggregates,
                "aggregatedUserRecords": self.aggregated_user_records,
            },
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "unrecoverable": [u.to_json() for u in self.unrecoverable],
            "warnings": list(self.warnings),
        }
