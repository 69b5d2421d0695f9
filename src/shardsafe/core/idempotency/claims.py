"""One batch's claims: waiting for claims held elsewhere, settling what is not to be handled, completing
what was handled and releasing the rest (see :mod:`shardsafe.core.idempotency.stage` for the whole).

Every outcome is settled through the run loop's :class:`~shardsafe.core.run.Invocation`.
"""

from __future__ import annotations

import json
import time

from shardsafe.core.errors import qualified_name, safe_str
from shardsafe.core.idempotency.store import COMPLETED, IN_PROGRESS, ClaimResult
from shardsafe.core.outcomes import PROCESSED, HandBack
from shardsafe.core.records import Record
from shardsafe.core.telemetry import logs

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from shardsafe.core.idempotency.stage import IdempotencyStage
    from shardsafe.core.idempotency.store import Held, IdempotencyStore
    from shardsafe.core.run import Invocation

__all__ = ["WAIT_POLL_S", "Claims", "claim"]

#: How often a claim held elsewhere is read again while waiting for it to end.
WAIT_POLL_S = 0.5


class Claims:
    """One batch's claims: which keys this invocation holds, and which it has completed."""

    __slots__ = ("by_raw", "claimed", "completed", "expires_at", "failed_data", "run", "stage", "until_ms")

    def __init__(self, stage: IdempotencyStage, run: Invocation) -> None:
        self.stage = stage
        self.run = run
        #: key -> the position of the record that holds it.
        self.claimed: dict[str, int] = {}
        #: id(raw) -> key, for the record that holds a claim: how a handled record finds its key.
        self.by_raw: dict[int, str] = {}
        self.completed: set[str] = set()
        #: Completions that failed, with their data, tried again at the end.
        self.failed_data: dict[str, str | None] = {}
        self.expires_at = 0
        self.until_ms = 0

    def wait(
        self,
        held: dict[str, Held],
        claimed: set[str],
        failed: dict[str, BaseException],
        until_ms: int,
        expires_at: int,
    ) -> None:
        """Wait for claims held elsewhere that end within half of the time left, then claim them.

        Read every ``WAIT_POLL_S``: a key completed meanwhile is skipped, a key free again is claimed.
        """
        stage, run = self.stage, self.run
        stop_at = run.deadline.stop_at
        if stop_at is None:
            return
        store = stage.config.store
        start = stage.monotonic()
        give_up = start + (stop_at - start) / 2
        waiting = {key for key, entry in held.items() if entry.status == IN_PROGRESS}
        read = False
        while waiting:
            now_ms = int(stage.clock() * 1000)
            left_ms = (give_up - stage.monotonic()) * 1000
            ends = [held[key].in_progress_until_ms for key in waiting]
            if left_ms <= 0:
                return
            if None in ends:
                if read:  # read once and still no end (a claim written without one): not waited for
                    return
            else:
                latest = max(end for end in ends if end is not None)
                if latest > now_ms + left_ms:
                    return  # cannot be outwaited: handed back
                stage.sleep(max(0.0, min(WAIT_POLL_S, (latest - now_ms) / 1000 + 0.01, left_ms / 1000)))
                now_ms = int(stage.clock() * 1000)
            try:
                found, unread = store.peek(sorted(waiting), now_ms=now_ms)
            except Exception:  # a store that raised where it should report: stop waiting
                return
            read = True
            if unread:
                return
            free = [key for key in waiting if key not in found]
            for key, entry in found.items():
                held[key] = entry
                if entry.status == COMPLETED:
                    waiting.discard(key)
            if free:
                again = claim(store, free, now_ms, expires_at, until_ms)
                claimed.update(again.claimed)
                failed.update(again.failed)
                held.update(again.held)
                for key in free:
                    if key in claimed or key in failed:
                        held.pop(key, None)
                        waiting.discard(key)
                    elif held[key].status == COMPLETED:
                        waiting.discard(key)

    def settle(
        self,
        positions: dict[str, list[int]],
        claimed: set[str],
        held: dict[str, Held],
        failed: dict[str, BaseException],
    ) -> None:
        """Settle, in batch order, every record that is not to be handled; note the claimed ones."""
        run, claims = self.run, self
        records = run.records
        for key in claimed:
            first = positions[key][0]
            claims.claimed[key] = first
            claims.by_raw[id(records[first])] = key
        order = sorted((index, key) for key, indexes in positions.items() for index in indexes)
        logged: set[int] = set()
        elsewhere: list[str] = []
        cells = run.cells
        for index, key in order:
            if cells[index] is not None:  # handed back with an earlier record
                continue
            if key in failed:
                error = failed[key]
                if id(error) not in logged:
                    logged.add(id(error))
                    run.observer.retryable(error, run.sources[index], [records[index]])
                run.hand_back(
                    (index,), HandBack(HandBack.RETRYABLE, qualified_name(type(error)), safe_str(error))
                )
            elif key in claimed:
                first = claims.claimed[key]
                if index != first:
                    run.hand_back(
                        (index,),
                        HandBack(
                            HandBack.IN_PROGRESS,
                            "",
                            f"record {first} of this batch has the same idempotency key and is handled first",
                        ),
                    )
            else:
                entry = held[key]
                if entry.status == COMPLETED:
                    run.skip(index, _result(entry.data))
                else:
                    elsewhere.append(key)
                    run.hand_back(
                        (index,),
                        HandBack(HandBack.IN_PROGRESS, "", _in_progress_message(entry.in_progress_until_ms)),
                    )
        if elsewhere:
            _warn("records claimed by another invocation were handed back", elsewhere, run)

    def complete(self, records: Sequence[Record], results: Sequence[Any]) -> None:
        """Mark the keys of handled records completed: one store call."""
        by_raw, completed, encode = self.by_raw, self.completed, self.stage.encode_result
        entries = []
        for record, result in zip(records, results, strict=True):
            key = by_raw.get(id(delivered(record)))
            if key is not None and key not in completed:
                entries.append((key, encode(result)))
        if not entries:
            return
        try:
            failed = self.stage.config.store.complete(entries, expires_at=self.expires_at)
        except Exception as error:  # a store that raised where it should report: the record stays processed
            failed = {key: error for key, _ in entries}
        for key, data in entries:
            if key in failed:
                self.failed_data[key] = data
            else:
                completed.add(key)

    def end(self) -> None:
        """After the loop: complete again what failed to, release the claims of records not handled."""
        stage = self.stage
        stage.current = None
        if not self.claimed:
            return
        cells = self.run.cells
        again: list[tuple[str, str | None]] = []
        release: list[str] = []
        for key, index in self.claimed.items():
            if key in self.completed:
                continue
            cell = cells[index]
            if cell is PROCESSED or isinstance(cell, Record):
                again.append((key, self.failed_data.get(key)))
            else:
                release.append(key)
        store = stage.config.store
        try:
            if again:
                failed = store.complete(again, expires_at=self.expires_at)
                self.completed.update(key for key, _ in again if key not in failed)
                if failed:
                    _warn(
                        "records were acted on but not marked completed: a delivery of them after their claim "
                        f"ends ({_when(self.until_ms)}) acts on them again",
                        list(failed),
                        self.run,
                        failed,
                    )
            if release:
                failed = store.release(release)
                if failed:
                    _warn(
                        "claims of records not acted on were not released: a retry of them is handed back "
                        f"as in progress until {_when(self.until_ms)}",
                        list(failed),
                        self.run,
                        failed,
                    )
        except Exception as error:  # a store that raised where it should report: the records are settled
            _warn("idempotency: ending the batch's claims failed", list(self.claimed), self.run, {"": error})


def delivered(record: Record) -> Any:
    """The record as Lambda delivered it: the batch's own object (``record.raw`` is a copy made for the
    handler), by which a handled record finds its key, in a retry or a bisection half too."""
    return record._raw


def claim(
    store: IdempotencyStore, keys: list[str], now_ms: int, expires_at: int, until_ms: int
) -> ClaimResult:
    """The store's claim; a store that raised (it should report per key) fails every key: none is handled."""
    try:
        return store.claim(keys, now_ms=now_ms, expires_at=expires_at, in_progress_until_ms=until_ms)
    except Exception as error:
        result = ClaimResult()
        result.failed = dict.fromkeys(keys, error)
        return result


def _result(data: str | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data


def _when(until_ms: int | None) -> str:
    if until_ms is None:
        return "an unknown time"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until_ms / 1000))


def _in_progress_message(until_ms: int | None) -> str:
    return f"another invocation holds its idempotency key, until {_when(until_ms)}"


def _warn(
    message: str, keys: list[str], run: Invocation, errors: dict[str, BaseException] | None = None
) -> None:
    fields: dict[str, Any] = {
        "message": message,
        "keys": len(keys),
        "first_keys": keys[:5],
        "function_name": run.observer.function_name,
        "request_id": run.observer.request_id,
    }
    if errors:
        error = next(iter(errors.values()))
        fields["error_type"] = qualified_name(type(error))
        fields["error_message"] = safe_str(error)
    logs.emit(logs.WARNING, logs.WARNED, fields)
