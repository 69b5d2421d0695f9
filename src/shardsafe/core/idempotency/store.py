"""What an idempotency store keeps, and the four calls the stage makes on one.

A store holds one entry per key, in AWS Lambda Powertools' idempotency layout (so a team using
Powertools can share the table and read it with the same tooling)::

    id                      the key (the namespace, then the record's identity or the user's key)
    status                  "INPROGRESS" (claimed by an invocation) or "COMPLETED" (acted on)
    expiration              epoch seconds after which the entry is gone (the table's time to live)
    in_progress_expiration  epoch milliseconds after which a claim is free again: the end of the
                            invocation that made it, so a claim whose holder crashed frees itself
    data                    the handler's result as JSON, when results are kept

A key is **free** when it has no entry, its entry expired, or it is a claim past its
``in_progress_expiration`` (Powertools' condition, to the letter). The stage calls, per batch:

- :meth:`IdempotencyStore.claim` once for the batch's keys: each free key becomes a claim of this
  invocation; for each other key, what holds it (:class:`Held`);
- :meth:`IdempotencyStore.peek` while it waits for a claim held elsewhere that is about to end;
- :meth:`IdempotencyStore.complete` when records were acted on (one record, or one batch-handler call);
- :meth:`IdempotencyStore.release` at the end, for the claims of records not acted on (handed back,
  quarantined), so that Lambda's retry of them is not blocked until the claim expires.

A store reports a call that failed per key (``failed``), and never raises for one: the stage decides
what a failure means for each record (:mod:`shardsafe.core.idempotency.stage`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["COMPLETED", "IN_PROGRESS", "ClaimResult", "Held", "IdempotencyStore", "Layout"]

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
#: DynamoDB's limit for a partition key value (bytes, UTF-8); a longer key is refused before any call.
MAX_KEY_BYTES = 2048


class Layout:
    """The attribute names of a store's entries: Powertools' ``DynamoDBPersistenceLayer`` defaults, and
    its parameter names, so a table configured for Powertools is configured the same way here."""

    __slots__ = ("data_attr", "expiry_attr", "in_progress_expiry_attr", "key_attr", "status_attr")

    def __init__(
        self,
        *,
        key_attr: str = "id",
        expiry_attr: str = "expiration",
        in_progress_expiry_attr: str = "in_progress_expiration",
        status_attr: str = "status",
        data_attr: str = "data",
    ) -> None:
        self.key_attr = key_attr
        self.expiry_attr = expiry_attr
        self.in_progress_expiry_attr = in_progress_expiry_attr
        self.status_attr = status_attr
        self.data_attr = data_attr


class Held:
    """A key that could not be claimed, and what holds it.

    ``status``: :data:`COMPLETED` (``data``: the stored result's JSON, if any) or :data:`IN_PROGRESS`
    (``in_progress_until_ms``: when the claim ends; None when unknown, e.g. a claim being written by
    another invocation at this very moment).
    """

    __slots__ = ("data", "in_progress_until_ms", "status")

    def __init__(self, status: str, in_progress_until_ms: int | None = None, data: str | None = None) -> None:
        self.status = status
        self.in_progress_until_ms = in_progress_until_ms
        self.data = data

    def __repr__(self) -> str:
        return f"<Held {self.status} until={self.in_progress_until_ms}>"


class ClaimResult:
    """What one :meth:`IdempotencyStore.claim` did, key by key: claimed, held by someone, or failed."""

    __slots__ = ("claimed", "failed", "held")

    def __init__(self) -> None:
        self.claimed: list[str] = []
        self.held: dict[str, Held] = {}
        #: Keys the store could not claim nor read, with the error (throttled, unreachable, refused).
        self.failed: dict[str, BaseException] = {}


class IdempotencyStore:
    """Where claims and completed keys live. Subclasses: :class:`~shardsafe.MemoryIdempotencyStore`,
    :class:`~shardsafe.DynamoDBIdempotencyStore`.

    Times are passed in by the stage (``now_ms``, epoch milliseconds), so that every comparison
    in one batch uses one clock reading. No method raises for a failed call: it returns the keys it
    could not handle, with the error.
    """

    __slots__ = ()

    def claim(
        self, keys: Sequence[str], *, now_ms: int, expires_at: int, in_progress_until_ms: int
    ) -> ClaimResult:
        """Claim every free key (status INPROGRESS, ``expiration`` ``expires_at`` in epoch seconds,
        ``in_progress_expiration`` ``in_progress_until_ms``); say what holds each other key."""
        raise NotImplementedError

    def peek(self, keys: Sequence[str], *, now_ms: int) -> tuple[dict[str, Held], dict[str, BaseException]]:
        """What holds each key that is not free now (a free key is left out), and the keys that could
        not be read."""
        raise NotImplementedError

    def complete(
        self, entries: Sequence[tuple[str, str | None]], *, expires_at: int
    ) -> dict[str, BaseException]:
        """Mark each ``(key, data)`` completed until ``expires_at``; the keys that could not be written."""
        raise NotImplementedError

    def release(self, keys: Sequence[str]) -> dict[str, BaseException]:
        """Delete these claims of this invocation; the keys that could not be deleted."""
        raise NotImplementedError
