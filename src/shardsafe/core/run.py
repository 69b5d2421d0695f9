"""One call of the processor: the run loop, and the only code that settles a record's outcome.

For each record, in order, the loop calls the pipeline of the record's source
(:func:`shardsafe.core.pipeline.build_attempt`) and settles the record's cell in the batch's outcome
table (:mod:`shardsafe.core.outcomes`):

- it returned: **processed** (or collected for the batch handler, :mod:`shardsafe.core.stages.batch`,
  whose verdicts this loop settles too);
- a stage rejected it, or it raised what the policy calls poison: **quarantined**;
- it raised what the policy calls retryable: **handed back** to Lambda, with whatever the source
  requires to keep order (:meth:`~shardsafe.core.sources.base.Source.hand_back`); when the mapping does
  not report batch-item failures, retried in process first, then quarantined (``retries_exhausted``);
- the deadline came, or an ``async`` handler was still running at it: every record not yet settled is
  **handed back** (``out_of_time``);
- a quarantined record of which no copy could be kept (the sink, S3 and the log all failed): its
  cell becomes **handed back** (``not_kept``) after the flush, so Lambda retries it rather than
  lose it.

User code never holds the records Lambda delivered: ``data`` is made new for each record and
``record.raw`` is a copy (:mod:`shardsafe.core.records`), so what is kept, handed back or tried again
is what Lambda delivered.

A position that is settled is never visited again, so no record can end in two places. The quarantine
flush (:mod:`shardsafe.core.quarantine.flush`) is handed the records quarantined since the last flush,
and this loop counts what it could not deliver.
"""

from __future__ import annotations

import time

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection, qualified_name, safe_str
from shardsafe.core.outcomes import PROCESSED, BatchResult, HandBack, QuarantinedRecord, Skipped
from shardsafe.core.policy import NEVER_CAUGHT, OUT_OF_TIME, HandlerFailed, HandlerOutOfTime, unwrap

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from shardsafe.core.policy import Deadline, Policy
    from shardsafe.core.quarantine.sink import QuarantineSink
    from shardsafe.core.records import Record
    from shardsafe.core.sources import Batch
    from shardsafe.core.sources.base import Source
    from shardsafe.core.telemetry.observer import Observer

    Attempt = Callable[[Any], Record]


class Invocation:
    """The state of one batch while it is processed; only this class changes it."""

    __slots__ = (
        "cells",
        "collected",
        "deadline",
        "keep",
        "observer",
        "policy",
        "records",
        "result",
        "sources",
        "unflushed",
    )

    def __init__(
        self,
        policy: Policy,
        observer: Observer,
        deadline: Deadline,
        batch: Batch,
        *,
        keep: bool,
        collect: bool,
    ) -> None:
        self.policy = policy
        self.observer = observer
        self.deadline = deadline
        self.keep = keep  # False: a processed record's cell is PROCESSED, and the record is let go
        #: Records that passed the pipeline, waiting for the batch handler: (position, record).
        self.collected: list[tuple[int, Record]] | None = [] if collect else None
        self.records: list[Any] = batch.records
        self.sources: list[Source] = batch.sources
        result = self.result = BatchResult()
        result.raw_records = batch.records
        result.sources = batch.sources
        first = batch.source or (batch.sources[0] if batch.sources else None)
        result.event_source = first.name if first is not None else None
        self.cells: list[Any] = [None] * len(batch.records)
        result.outcomes = self.cells
        #: Positions quarantined since the last flush: where the flush looks, instead of every cell.
        self.unflushed: list[int] = []

    # --- the run loop ---

    def run_records(self, attempt_for: Callable[[Source], Attempt], source: Source | None) -> None:
        """The hot loop: a record that succeeds costs the pipeline, one cell and one clock read.

        ``source``: the one source of every record, when they share one (the usual batch); else each
        record's own source's pipeline is used.
        """
        cells, records, collected, sources = self.cells, self.records, self.collected, self.sources
        keep = self.keep
        stop_at = self.deadline.stop_at
        monotonic = time.monotonic
        shared = attempt_for(source) if source is not None else None
        for index, raw in enumerate(records):
            if cells[index] is not None:  # settled already: handed back with an earlier record
                continue
            if stop_at is not None and monotonic() > stop_at:
                self.out_of_time()
                return
            attempt = shared if shared is not None else attempt_for(sources[index])
            try:
                record = attempt(raw)
            except Rejection as rejection:
                self.quarantine(
                    index,
                    rejection.reason,
                    rejection.error_type,
                    rejection.error_message,
                    payload := rejection.payload,
                    extracted=payload is not None,
                )
            except BaseException as error:
                if isinstance(error, NEVER_CAUGHT):
                    raise
                self.failed(index, error, attempt)
            else:
                if collected is not None:
                    collected.append((index, record))
                else:
                    cells[index] = record if keep else PROCESSED

    def failed(self, index: int, error: BaseException, attempt: Attempt) -> None:
        """A record's pipeline raised: quarantine it, hand it back, or retry it here, as the policy says."""
        policy = self.policy
        cause = unwrap(error)
        if type(cause) is HandlerOutOfTime:  # cancelled at the deadline: this record and all left go back
            self.out_of_time()
            return
        # The bytes the pipeline read (user code never had the raw record itself: ``record.raw`` is a copy).
        payload = error.record.payload if type(error) is HandlerFailed else None
        # The validator's own failures arrive as Rejection; anything else before the handler is ours.
        poison_reason = reasons.HANDLER_ERROR if type(error) is HandlerFailed else reasons.INTERNAL_ERROR
        if not policy.is_retryable(cause):
            self.quarantine(index, poison_reason, qualified_name(type(cause)), safe_str(cause), payload)
            return
        raw = self.records[index]
        if policy.report_batch_item_failures:
            self.observer.retryable(cause, self.sources[index], [raw])
            self.hand_back(
                (index,), HandBack(HandBack.RETRYABLE, qualified_name(type(cause)), safe_str(cause))
            )
            return
        ok, outcome = policy.retry(lambda: attempt(raw), error, self.deadline)
        if ok:
            if self.collected is not None:
                self.collected.append((index, outcome))
            else:
                self.settle(index, outcome if self.keep else PROCESSED)
        elif outcome is OUT_OF_TIME:
            self.hand_back(
                (index,), HandBack(HandBack.OUT_OF_TIME, qualified_name(type(cause)), safe_str(cause))
            )
        elif isinstance(outcome, Rejection):
            payload = outcome.payload
            self.quarantine(
                index,
                outcome.reason,
                outcome.error_type,
                outcome.error_message,
                payload,
                extracted=payload is not None,
            )
        else:
            last = unwrap(outcome)
            if type(outcome) is HandlerFailed:
                payload = outcome.record.payload
            reason = reasons.RETRIES_EXHAUSTED if policy.is_retryable(last) else poison_reason
            self.quarantine(index, reason, qualified_name(type(last)), safe_str(last), payload)

    def run_batch_handler(
        self,
        batch_handler: Callable[[list[Record]], Any],
        resolve: Callable[[Any], Any],
        prepare_for: Callable[[Source], Attempt],
        *,
        snapshot: bool,
    ) -> None:
        """Call the batch handler on the records the loop collected, and settle each verdict it gives.

        ``prepare_for(source)``: the pipeline without the handler, which builds a record afresh from what
        Lambda delivered for a retry or a bisection half; ``snapshot``: a record handler ran, so what it
        left in each record is kept for those instead (:class:`~shardsafe.core.stages.batch.Rebuild`).
        """
        from shardsafe.core.stages import batch

        collected = self.collected or []
        self.collected = None
        cells, sources = self.cells, self.sources

        def pending(index: int) -> bool:
            return cells[index] is None

        def call(records: list[Record]) -> None:
            # a copy of the list: a handler that changes its list must not change what a retry or a half gets
            result = batch_handler(list(records))
            if result is not None:
                batch.returned_failures(resolve(result), records)

        def prepare(index: int) -> Attempt:
            return prepare_for(sources[index])  # rebuilt from the record as delivered

        fresh = batch.Rebuild(collected, self.records, prepare, snapshot=snapshot)
        for verdict, group, error in batch.bisect(
            collected, call, self.policy, self.deadline, pending, fresh
        ):
            indexes = [index for index, _ in group]
            if verdict == batch.PROCESSED:
                keep = self.keep
                for index, record in group:
                    self.settle(index, record if keep else PROCESSED)
            elif verdict == batch.RETRYABLE:
                assert error is not None
                self.observer.retryable(
                    error, sources[indexes[0]], [self.records[index] for index in indexes]
                )
                self.hand_back(
                    indexes, HandBack(HandBack.RETRYABLE, qualified_name(type(error)), safe_str(error))
                )
            elif verdict == batch.OUT_OF_TIME_VERDICT:
                if error is None:
                    self.out_of_time()
                else:
                    why = HandBack(HandBack.OUT_OF_TIME, qualified_name(type(error)), safe_str(error))
                    self.hand_back(indexes, why)
            else:  # RETRIES_EXHAUSTED or POISON: quarantined, each with the bytes it had
                assert error is not None
                reason = (
                    reasons.RETRIES_EXHAUSTED if verdict == batch.RETRIES_EXHAUSTED else reasons.HANDLER_ERROR
                )
                for index, record in group:
                    self.quarantine(
                        index, reason, qualified_name(type(error)), safe_str(error), record.payload
                    )

    def flush(self, sink: Callable[[], QuarantineSink]) -> None:
        """Log and send what was quarantined since the last flush."""
        if not self.unflushed:
            return
        from shardsafe.core.quarantine.flush import flush

        pending = [self.cells[index] for index in self.unflushed]
        undelivered, unkept = flush(pending, sink, observer=self.observer, flush_at=self.deadline.flush_at)
        self.result.undelivered += undelivered
        self.unflushed = []  # only now: a flush that broke half-way is done again, not forgotten
        for quarantined in unkept:
            self.not_kept(quarantined)

    def not_kept(self, quarantined: QuarantinedRecord) -> None:
        """No copy of a quarantined record could be written anywhere: hand it back to Lambda instead, which
        retries it; when it cannot be handed back either, the invocation must fail (``incomplete``)."""
        index = quarantined.index
        if not self.sources[index].item_identifier(self.records[index]):
            self.result.incomplete = True
            return
        self.cells[index] = None  # the one outcome that is settled again: a quarantine that did not happen
        why = HandBack(HandBack.NOT_KEPT, quarantined.error_type, quarantined.error_message)
        self._hand_back_one(index, why)

    # --- settling outcomes: each position once ---

    def settle(self, index: int, outcome: object) -> None:
        if self.cells[index] is not None:
            raise RuntimeError(
                f"shardsafe bug: record {index} settled twice ({self.cells[index]!r}, then {outcome!r})"
            )
        self.cells[index] = outcome

    def skip(self, index: int, result: Any = None) -> None:
        """A record an earlier delivery acted on (idempotency): skipped, with what the handler returned
        then when that was kept."""
        self.settle(index, Skipped(Skipped.DUPLICATE, result))

    def quarantine(
        self,
        index: int,
        reason: str,
        error_type: str,
        error_message: str,
        payload: bytes | None = None,
        *,
        extracted: bool = False,
    ) -> None:
        """Quarantine a record; the flush logs it and sends its envelope.

        ``payload``: the record's bytes if the pipeline has them; ``extracted``: they were read from
        ``raw`` by the source and no handler has seen ``raw`` since (so Kinesis' base64 is reused).
        """
        self.unflushed.append(index)
        self.settle(
            index,
            QuarantinedRecord(
                self.sources[index],
                index,
                self.records[index],
                reason,
                error_type,
                error_message,
                payload,
                extracted=extracted,
            ),
        )

    def hand_back(self, indexes: Sequence[int], why: HandBack) -> None:
        """Hand records back to Lambda (one, or a batch-handler group), each for ``why``, with the
        later records their source says must go with them."""
        cells = self.cells
        for index in indexes:
            if cells[index] is None:
                self._hand_back_one(index, why)
        after = HandBack(HandBack.AFTER_FAILURE)
        for index in indexes:
            rule = self.sources[index].hand_back
            for position in rule(self.records, index, fifo_scope=self.policy.fifo_scope):
                if cells[position] is None:
                    self._hand_back_one(position, after)

    def out_of_time(self) -> None:
        """The deadline came: every record not yet settled goes back to Lambda, none is quarantined for it."""
        out_of_time = HandBack(HandBack.OUT_OF_TIME)
        for position, cell in enumerate(self.cells):
            if cell is None:
                self._hand_back_one(position, out_of_time)

    def _hand_back_one(self, position: int, why: HandBack) -> None:
        if not self.sources[position].item_identifier(self.records[position]):
            # Lambda would read an empty id as "retry the whole batch": quarantine the record instead
            self.quarantine(
                position, reasons.MALFORMED_RECORD, "shardsafe.Rejection", "record has no item identifier"
            )
            return
        self.settle(position, why)
        if not self.policy.report_batch_item_failures:
            self.result.incomplete = True

    def settle_pending_after_error(self, error: BaseException) -> None:
        """A bug in shardsafe: every record without an outcome is quarantined (``internal_error``)."""
        for position, cell in enumerate(self.cells):
            if cell is None:
                self.quarantine(
                    position, reasons.INTERNAL_ERROR, qualified_name(type(error)), safe_str(error)
                )
