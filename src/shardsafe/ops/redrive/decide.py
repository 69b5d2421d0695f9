"""What redrive does with each failure message, and why: the whole policy, as pure functions.

`RedriveFilter` says which messages a run takes at all. `decide` says, for one message taken, from what
was recovered and what was written, whether its records are to be written and whether the message is
then deleted or kept; a kept message is made visible again at once, for a later run or for a person.
Nothing here does I/O: the receive loop (`shardsafe.ops.redrive.loop`) asks, and does what the answer says.

    decide(recovered=5, unrecoverable=(), written=None, accept_partial=False)  # WRITE them first
    decide(recovered=5, unrecoverable=(), written=5, accept_partial=False)     # then DELETE the message
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shardsafe.ops.failures import FailureMessage
from shardsafe.ops.redrive.recovery import UNREADABLE_MESSAGE, UNSUPPORTED_SOURCE

__all__ = ["NEEDS_A_PERSON", "Action", "Decision", "RedriveFilter", "decide"]

NEEDS_A_PERSON = frozenset({UNREADABLE_MESSAGE, UNSUPPORTED_SOURCE})
"""Reasons no run of redrive can fix: such a message is kept whatever the options."""


class Action(StrEnum):
    WRITE = "write"  # write the recovered records, then decide again with how many were written
    DELETE = "delete"  # all the message stands for is written, or (accept_partial) reported lost
    KEEP = "keep"  # leave it in the queue, visible again, with nothing of it written


@dataclass(frozen=True)
class Decision:
    action: Action
    why: str = ""  # for the person reading the output: why it is kept, or what a delete gives up


def decide(
    *,
    recovered: int,
    unrecoverable: Collection[str],
    written: int | None,
    accept_partial: bool,
    refused: str | None = None,
) -> Decision:
    """What happens to one message whose recovery found ``recovered`` records and could not recover
    some for the reasons in ``unrecoverable`` (`shardsafe.ops.redrive.recovery.Unrecoverable.reason`).

    ``written`` is None until the records have been offered to the target, then how many it took.
    ``accept_partial`` redrives what could be recovered of a message that lost some records, and
    deletes it, instead of keeping it whole. ``refused`` is why the target can never take one of the
    records (`shardsafe.ops.redrive.targets.Target.cannot_take`): the message is kept, nothing written.
    """
    lost = ", ".join(sorted(set(unrecoverable)))
    if NEEDS_A_PERSON.intersection(unrecoverable):
        return Decision(Action.KEEP, "left in the queue for a person to look at")
    if refused is not None:
        return Decision(Action.KEEP, f"nothing written: {refused}")
    if unrecoverable and not accept_partial:
        return Decision(
            Action.KEEP,
            f"nothing written as some records are unrecoverable ({lost}); --accept-partial redrives the rest",
        )
    if written is None:
        return Decision(Action.WRITE)
    if written < recovered:
        return Decision(
            Action.KEEP,
            f"{recovered - written} of {recovered} records could not be written; run again to retry",
        )
    if unrecoverable:
        return Decision(
            Action.DELETE, f"the unrecoverable records ({lost}) given up, as --accept-partial asks"
        )
    return Decision(Action.DELETE)


@dataclass(frozen=True)
class RedriveFilter:
    """Which messages to redrive; an empty set or None matches everything."""

    reasons: frozenset[str] = frozenset()
    shards: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()  # "on_failure", "quarantine"
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, message: FailureMessage, sent_at: datetime | None = None) -> bool:
        """Whether ``message`` is taken; its time is when it failed, else ``sent_at`` (the queue's)."""
        if self.kinds and message.kind not in self.kinds:
            return False
        if self.reasons and message.reason not in self.reasons:
            return False
        if self.shards and message.shard_id not in self.shards:
            return False
        if self.since is None and self.until is None:
            return True
        at = message.failed_at or sent_at
        if at is None:
            return False
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)
