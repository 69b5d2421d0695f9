"""What a redrive run did: one outcome per message, and the counts for the summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shardsafe.redrive.recovery import Unrecoverable

__all__ = ["MessageOutcome", "RedriveResult"]


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

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "action": self.action,
            "description": self.description,
            "recovered": self.recovered,
            "written": self.written,
            "unrecoverable": self.unrecoverable,
            "why": self.why,
        }


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

    def to_json(self) -> dict[str, Any]:
        """The summary as ``--output json`` prints it, with every message's outcome."""
        return {
            "command": "redrive",
            "dryRun": self.dry_run,
            "target": self.target,
            "clean": self.clean,
            "messages": {
                "read": self.messages_read,
                "skipped": self.messages_skipped,
                "deleted": self.messages_deleted,
                "kept": self.messages_kept,
            },
            "records": {
                "recovered": self.records_recovered,
                "reput": self.records_reput,
                "written": self.records_written,
                "unrecoverable": self.records_unrecoverable,
            },
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "unrecoverable": [u.to_json() for u in self.unrecoverable],
            "warnings": list(self.warnings),
        }
