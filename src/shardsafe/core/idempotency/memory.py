"""An idempotency store in this process's memory: for tests, and for a function that only needs to
skip what the same execution environment did already (nothing is shared between environments)."""

from __future__ import annotations

from shardsafe.core.idempotency.store import COMPLETED, IN_PROGRESS, ClaimResult, Held, IdempotencyStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Entry", "MemoryIdempotencyStore"]


class Entry:
    """One key's entry, the attributes of Powertools' layout."""

    __slots__ = ("data", "expiration", "in_progress_expiration", "status")

    def __init__(
        self, status: str, expiration: int, in_progress_expiration: int | None = None, data: str | None = None
    ) -> None:
        self.status = status
        self.expiration = expiration
        self.in_progress_expiration = in_progress_expiration
        self.data = data

    def __repr__(self) -> str:
        return f"<Entry {self.status} expiration={self.expiration} until={self.in_progress_expiration}>"


class MemoryIdempotencyStore(IdempotencyStore):
    """Entries in a dict, with the same rules as the DynamoDB store (the same claim condition, the
    result kept as JSON). ``fail`` makes every call fail with that error, for tests of a store outage."""

    __slots__ = ("calls", "entries", "fail")

    def __init__(self) -> None:
        #: key -> its entry: what the DynamoDB store keeps as an item.
        self.entries: dict[str, Entry] = {}
        #: The calls made, by name: how many store calls a batch took.
        self.calls: dict[str, int] = {}
        self.fail: dict[str, BaseException] = {}

    def _call(self, name: str) -> BaseException | None:
        self.calls[name] = self.calls.get(name, 0) + 1
        return self.fail.get(name)

    def _live(self, key: str, now_ms: int) -> Held | None:
        entry = self.entries.get(key)
        if entry is None or entry.expiration < now_ms // 1000:
            return None
        until = entry.in_progress_expiration
        if entry.status == IN_PROGRESS and until is not None and until < now_ms:
            return None
        return Held(entry.status, until, entry.data)

    def claim(
        self, keys: Sequence[str], *, now_ms: int, expires_at: int, in_progress_until_ms: int
    ) -> ClaimResult:
        result = ClaimResult()
        error = self._call("claim")
        for key in keys:
            if error is not None:
                result.failed[key] = error
                continue
            held = self._live(key, now_ms)
            if held is not None:
                result.held[key] = held
                continue
            self.entries[key] = Entry(IN_PROGRESS, expires_at, in_progress_until_ms)
            result.claimed.append(key)
        return result

    def peek(self, keys: Sequence[str], *, now_ms: int) -> tuple[dict[str, Held], dict[str, BaseException]]:
        error = self._call("peek")
        if error is not None:
            return {}, dict.fromkeys(keys, error)
        found = {}
        for key in keys:
            held = self._live(key, now_ms)
            if held is not None:
                found[key] = held
        return found, {}

    def complete(
        self, entries: Sequence[tuple[str, str | None]], *, expires_at: int
    ) -> dict[str, BaseException]:
        error = self._call("complete")
        if error is not None:
            return {key: error for key, _ in entries}
        for key, data in entries:
            self.entries[key] = Entry(COMPLETED, expires_at, None, data)
        return {}

    def release(self, keys: Sequence[str]) -> dict[str, BaseException]:
        error = self._call("release")
        if error is not None:
            return dict.fromkeys(keys, error)
        for key in keys:
            self.entries.pop(key, None)
        return {}
