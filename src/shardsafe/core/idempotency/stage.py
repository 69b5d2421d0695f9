"""The idempotency layer as a stage of the pipeline: around the run loop, and in the handlers.

::

    begin  (before the loop)   each record's key → one claim call per 100 keys → each record is
                               skipped (completed before), handed back (claimed elsewhere) or claimed
    handle (per record)        handled → its key completed at once (one write); with a batch handler,
                               the keys of each batch-handler call's records when it returns
    end    (after the loop)    the claims of records not handled (handed back, quarantined) released

The run loop (:class:`~shardsafe.core.run.Invocation`) settles every outcome: this stage calls its
``skip``, ``hand_back`` and ``quarantine`` before the loop starts, and the loop leaves what is settled.
This module keys the batch and wraps the handlers; :mod:`~shardsafe.core.idempotency.claims` holds
one batch's claims (waiting, settling, completing, releasing).

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
from shardsafe.core.idempotency.claims import Claims, claim
from shardsafe.core.idempotency.keys import (
    DEDUPLICATION_ID,
    IDENTITY,
    deduplication_value,
    identity_value,
    missing_key_message,
)
from shardsafe.core.idempotency.store import IN_PROGRESS, MAX_KEY_BYTES
from shardsafe.core.outcomes import HandBack
from shardsafe.core.policy import NEVER_CAUGHT, remaining_ms
from shardsafe.core.stages.batch import returned_failures
from shardsafe.core.stages.handle import PLAIN_RESULTS
from shardsafe.core.telemetry import logs

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.idempotency.config import Idempotency
    from shardsafe.core.policy import Policy
    from shardsafe.core.records import Record
    from shardsafe.core.run import Invocation
    from shardsafe.core.sources.base import Source

__all__ = ["IdempotencyStage"]

#: A claim's length when there is no Lambda context to read the time left from: Lambda's longest timeout.
NO_CONTEXT_CLAIM_MS = 900_000
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
        "finish",
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
        finish: Callable[[Any], Any],
        *,
        batch_handler: bool,
    ) -> None:
        self.config = config
        self.policy = policy
        #: extract → decode → validate for a source (no handler): what a key from the payload reads.
        self.prepare_for = prepare_for
        #: A handler's return value made its result (an awaitable awaited), as the pipeline makes it.
        self.finish = finish
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
        stage, finish = self, self.finish

        def handle_once(record: Record) -> Any:
            result = handler(record) if handler is not None else None
            if type(result) not in PLAIN_RESULTS:
                result = finish(result)  # awaited here: the record is done only once its work is
            claims = stage.current
            if claims is not None:
                claims.complete((record,), (result,))
            return result

        return handle_once

    def batch_handler(self, handler: Callable[[list[Record]], Any]) -> Callable[[list[Record]], Any]:
        """``handler`` with the keys of the records it was called with completed when it returns, and
        its return value accepted (a returned record or ``batchItemFailures`` fails the call)."""
        stage, finish = self, self.finish

        def handle_batch_once(records: list[Record]) -> Any:
            result = handler(records)
            if type(result) not in PLAIN_RESULTS:
                result = finish(result)
            if result is not None:
                returned_failures(result, records)  # raises when the call reports failures: not done
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
        result = claim(config.store, list(positions), now_ms, claim_expires_at, until_ms)
        claimed, held, failed = set(result.claimed), result.held, result.failed
        if config.wait and any(entry.status == IN_PROGRESS for entry in held.values()):
            claims.wait(held, claimed, failed, until_ms, claim_expires_at)
        claims.settle(positions, claimed, held, failed)
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
