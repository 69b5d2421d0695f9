"""The idempotency layer as a stage of the pipeline: around the run loop, and in the handlers.

::

    begin  (before the loop)   each record's key → one claim call per 100 keys → each record is
                               skipped (completed before), handed back (claimed elsewhere) or claimed
    handle (per record)        handled → its key completed at once (one write); with a batch handler,
                               the keys of each batch-handler call's records when it returns
    end    (after the loop)    the claims of records not handled (handed back, quarantined) released

The run loop (:class:`~shardsafe.core.run.Invocation`) settles every outcome: this stage calls its
``skip``, ``hand_back`` and ``quarantine`` before the loop starts, and the loop leaves what is settled.

What the failure of each store call does (never a lost record, never a silent double):

- **claim** fails (throttled, unreachable, access denied): none of its keys was claimed, so none of
  its records is handled: each is handed back (``retryable``, with the store's error, logged as a
  ``shardsafe.retryable`` line) and Lambda delivers it again. Records are never handled unclaimed.
- **complete** fails: the record was acted on already, so it stays processed; the write is tried
  again at the end of the batch, and if that fails too a ``shardsafe.warning`` line names the keys:
  their claims end with the invocation, and a later delivery of those records would act again.
- **release** fails: the records were handed back or quarantined already; their claims end with
  the invocation, and until then a retry of them is handed back as in progress (a warning line says so).
- **peek** fails (while waiting): the wait ends, and the records still claimed elsewhere are handed back.

A key whose claim another invocation holds is waited for when the claim ends within half of the
time left (an invocation that crashed left it; ``Idempotency(wait=False)`` turns this off), and
handed back otherwise. A key that two records of one batch share (a key from the payload) is
handled once: the later records are handed back, and skipped when Lambda delivers them again.
"""

from __future__ import annotations

import json
import time

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection, qualified_name, safe_str
from shardsafe.core.idempotency.keys import (
    DEDUPLICATION_ID,
    IDENTITY,
    deduplication_value,
    identity_value,
    missing_key_message,
)
from shardsafe.core.idempotency.store import COMPLETED, IN_PROGRESS, MAX_KEY_BYTES, ClaimResult
from shardsafe.core.outcomes import PROCESSED, HandBack
from shardsafe.core.policy import NEVER_CAUGHT, remaining_ms
from shardsafe.core.records import Record
from shardsafe.core.stages.handle import PLAIN_RESULTS, not_awaited
from shardsafe.core.telemetry import logs

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from shardsafe.core.idempotency.config import Idempotency
    from shardsafe.core.idempotency.store import Held, IdempotencyStore
    from shardsafe.core.policy import Policy
    from shardsafe.core.run import Invocation
    from shardsafe.core.sources.base import Source

__all__ = ["Claims", "IdempotencyStage"]

#: A claim's length when there is no Lambda context to read the time left from: Lambda's longest timeout.
NO_CONTEXT_CLAIM_MS = 900_000
#: How often a claim held elsewhere is read again while waiting for it to end.
WAIT_POLL_S = 0.5
#: The largest result kept (JSON, characters): a DynamoDB item holds 400 KB.
MAX_RESULT_CHARS = 300_000
_SETTLED = object()


class IdempotencyStage:
    """A processor's idempotency layer; :meth:`begin` starts it for one batch (:class:`Claims`)."""

    __slots__ = (
        "clock",
        "complete_per_record",
        "config",
        "current",
        "monotonic",
        "policy",
        "prepare_for",
        "sleep",
    )

    def __init__(
        self,
        config: Idempotency,
        policy: Policy,
        prepare_for: Callable[[Source], Callable[[Any], Record]],
        *,
        batch_handler: bool,
    ) -> None:
        self.config = config
        self.policy = policy
        #: extract → decode → validate for a source (no handler): what a key from the payload reads.
        self.prepare_for = prepare_for
        #: With a batch handler a record is done when the batch handler returns, not its own handler.
        self.complete_per_record = not batch_handler
        self.current: Claims | None = None
        # The clocks, replaceable in tests: wall time for the store's expiries, monotonic for the deadline.
        self.clock: Callable[[], float] = time.time
        self.monotonic: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep

    # --- the handlers ---

    def record_handler(self, handler: Callable[[Record], Any] | None) -> Callable[[Record], Any] | None:
        """``handler`` with its record's key completed as soon as it returns (without a batch handler)."""
        if not self.complete_per_record:
            return handler
        stage = self

        def handle_once(record: Record) -> Any:
            result = handler(record) if handler is not None else None
            if type(result) not in PLAIN_RESULTS:
                not_awaited(result)  # a coroutine that never ran did not act: not completed
            claims = stage.current
            if claims is not None:
                claims.complete((record,), (result,))
            return result

        return handle_once

    def batch_handler(self, handler: Callable[[list[Record]], Any]) -> Callable[[list[Record]], Any]:
        """``handler`` with the keys of the records it was called with completed when it returns."""
        stage = self

        def handle_batch_once(records: list[Record]) -> Any:
            result = handler(records)
            if type(result) not in PLAIN_RESULTS:
                not_awaited(result)
            claims = stage.current
            if claims is not None:
                claims.complete(records, [record.result for record in records])
            return result

        return handle_batch_once

    # --- before the run loop ---

    def begin(self, run: Invocation, context: object) -> Claims:
        """Key, claim and settle the batch's records before the run loop; what :meth:`Claims.end` ends."""
        claims = self.current = Claims(self, run)
        if run.deadline.passed():
            return claims  # the loop hands every record back as out of time: nothing to claim
        config = self.config
        now_ms = int(self.clock() * 1000)
        remaining = remaining_ms(context)
        # The claim ends with the invocation: a claim whose holder crashed frees itself then.
        until_ms = now_ms + int(remaining if remaining is not None else NO_CONTEXT_CLAIM_MS)
        claims.expires_at = now_ms // 1000 + config.expires_after
        claims.until_ms = until_ms
        positions = self._keys(run)
        if not positions:
            return claims
        claim_expires_at = max(claims.expires_at, until_ms // 1000 + 1)  # a claim outlives its own end
        result = _claim(config.store, list(positions), now_ms, claim_expires_at, until_ms)
        claimed, held, failed = set(result.claimed), result.held, result.failed
        if config.wait and any(entry.status == IN_PROGRESS for entry in held.values()):
            self._wait(run, held, claimed, failed, until_ms, claim_expires_at)
        self._settle(run, claims, positions, claimed, held, failed)
        return claims

    def _keys(self, run: Invocation) -> dict[str, list[int]]:
        """Each pending record's key, and the positions that have it; a record without one is settled."""
        kind = self.config.key
        make = self.config.key_maker
        positions: dict[str, list[int]] = {}
        cells, records, sources = run.cells, run.records, run.sources
        for index, raw in enumerate(records):
            if cells[index] is not None:  # settled already (handed back with an earlier record)
                continue
            source = sources[index]
            if kind == IDENTITY:
                value = identity_value(source, raw)
            elif kind == DEDUPLICATION_ID:
                value = deduplication_value(source, raw)
            else:
                value = self._user_value(run, index, source, raw)
                if value is _SETTLED:
                    continue
            try:
                key = make(value)
            except Exception as error:  # a value json cannot write (a circular structure)
                run.quarantine(index, reasons.VALIDATION_ERROR, qualified_name(type(error)), safe_str(error))
                continue
            if key is None:
                reason = reasons.VALIDATION_ERROR if callable(kind) else reasons.MALFORMED_RECORD
                run.quarantine(
                    index,
                    reason,
                    "shardsafe.Rejection",
                    missing_key_message(None if callable(kind) else kind),
                )
                continue
            size = len(key.encode("utf-8", "surrogatepass"))
            if size > MAX_KEY_BYTES:
                run.quarantine(
                    index,
                    reasons.VALIDATION_ERROR,
                    "shardsafe.Rejection",
                    f"the idempotency key is {size} bytes, more than a DynamoDB key holds ({MAX_KEY_BYTES}): "
                    "set Idempotency(hash=True)",
                )
                continue
            positions.setdefault(key, []).append(index)
        return positions

    def _user_value(self, run: Invocation, index: int, source: Source, raw: Any) -> object:
        """The user's key function on the decoded, validated record; a record it fails on is settled
        as the run loop would settle it (quarantined, or handed back for a retryable error)."""
        record: Record | None = None
        try:
            record = self.prepare_for(source)(raw)
            return self.config.key(record)  # type: ignore[operator]
        except Rejection as rejection:
            payload = rejection.payload
            run.quarantine(
                index,
                rejection.reason,
                rejection.error_type,
                rejection.error_message,
                payload,
                extracted=payload is not None,
            )
        except BaseException as error:
            if isinstance(error, NEVER_CAUGHT):
                raise
            if self.policy.is_retryable(error):
                run.observer.retryable(error, source, [raw])
                run.hand_back(
                    (index,), HandBack(HandBack.RETRYABLE, qualified_name(type(error)), safe_str(error))
                )
            else:
                reason = reasons.INTERNAL_ERROR if record is None else reasons.VALIDATION_ERROR
                message = f"the idempotency key function failed: {safe_str(error)}"
                run.quarantine(
                    index,
                    reason,
                    qualified_name(type(error)),
                    message,
                    None if record is None else record.payload,
                )
        return _SETTLED

    def _wait(
        self,
        run: Invocation,
        held: dict[str, Held],
        claimed: set[str],
        failed: dict[str, BaseException],
        until_ms: int,
        expires_at: int,
    ) -> None:
        """Wait for claims held elsewhere that end within half of the time left, then claim them.

        Read every ``WAIT_POLL_S``: a key completed meanwhile is skipped, a key free again is claimed.
        """
        stop_at = run.deadline.stop_at
        if stop_at is None:
            return
        store = self.config.store
        start = self.monotonic()
        give_up = start + (stop_at - start) / 2
        waiting = {key for key, entry in held.items() if entry.status == IN_PROGRESS}
        read = False
        while waiting:
            now_ms = int(self.clock() * 1000)
            left_ms = (give_up - self.monotonic()) * 1000
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
                self.sleep(max(0.0, min(WAIT_POLL_S, (latest - now_ms) / 1000 + 0.01, left_ms / 1000)))
                now_ms = int(self.clock() * 1000)
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
                again = _claim(store, free, now_ms, expires_at, until_ms)
                claimed.update(again.claimed)
                failed.update(again.failed)
                held.update(again.held)
                for key in free:
                    if key in claimed or key in failed:
                        held.pop(key, None)
                        waiting.discard(key)
                    elif held[key].status == COMPLETED:
                        waiting.discard(key)

    def _settle(
        self,
        run: Invocation,
        claims: Claims,
        positions: dict[str, list[int]],
        claimed: set[str],
        held: dict[str, Held],
        failed: dict[str, BaseException],
    ) -> None:
        """Settle, in batch order, every record that is not to be handled; note the claimed ones."""
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

    def encode_result(self, result: Any) -> str | None:
        """The result as stored (JSON), when results are kept and it can be; else None."""
        if not self.config.store_results or result is None:
            return None
        try:
            text = json.dumps(result, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            logs.emit(
                logs.WARNING,
                logs.WARNED,
                {"message": "idempotency: a result that is not JSON is not kept", "error": safe_str(error)},
            )
            return None
        if len(text) > MAX_RESULT_CHARS:
            logs.emit(
                logs.WARNING,
                logs.WARNED,
                {"message": "idempotency: a result too large to keep is not kept", "characters": len(text)},
            )
            return None
        return text


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

    def complete(self, records: Sequence[Record], results: Sequence[Any]) -> None:
        """Mark the keys of handled records completed: one store call."""
        by_raw, completed, encode = self.by_raw, self.completed, self.stage.encode_result
        entries = []
        for record, result in zip(records, results, strict=True):
            key = by_raw.get(id(record.raw))
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


def _claim(
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
