"""Outcomes: what happened to each record, recorded once, by its position in the batch.

A batch's :class:`BatchResult` holds one cell per record, in the order Lambda sent them. A cell
starts empty (``None``: pending) and is settled exactly once, by the run loop
(:mod:`shardsafe.core.run`), to one of:

- **processed**: the :class:`~shardsafe.Record` itself when the caller keeps records
  (``process()``, a batch handler), else the :data:`PROCESSED` marker;
- **skipped**: a :class:`Skipped` (why): done already, by an earlier delivery (idempotency);
- **quarantined**: a :class:`~shardsafe.core.quarantine.record.QuarantinedRecord` (reason, error, the
  original bytes);
- **handed back** to Lambda: a :class:`HandBack` (why), reported in ``batchItemFailures``.

Every count, the response and the summary line are read off the cells, so "every record ends in
exactly one place" holds by construction rather than by reconciling lists afterwards.
"""

from __future__ import annotations

from shardsafe.core.quarantine.record import QuarantinedRecord
from shardsafe.core.records import Record

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.sources.base import ItemIdentifier, Source
    from shardsafe.core.types import BatchResponse

__all__ = ["PROCESSED", "BatchResult", "Counts", "HandBack", "QuarantinedRecord", "Skipped"]


class _Processed:
    """The cell of a processed record that was let go once its handler returned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PROCESSED"


PROCESSED = _Processed()


class HandBack:
    """A record handed back to Lambda as a batch-item failure, and why."""

    __slots__ = ("error_message", "error_type", "why")

    #: The record (or the batch handler on its group) raised a retryable exception.
    RETRYABLE = "retryable"
    #: An earlier record was handed back and the source keeps order (streams, FIFO, Kafka partitions).
    AFTER_FAILURE = "after_earlier_failure"
    #: The invocation was about to time out before the record was handled.
    OUT_OF_TIME = "out_of_time"
    #: Another invocation is working on the same record (idempotency): try it later.
    IN_PROGRESS = "in_progress_elsewhere"
    #: The record is poison, but no copy of it could be written (the sink, S3 and the log all failed):
    #: Lambda retries it rather than lose it.
    NOT_KEPT = "not_kept"

    def __init__(self, why: str, error_type: str = "", error_message: str = "") -> None:
        self.why = why
        self.error_type = error_type
        self.error_message = error_message

    def __repr__(self) -> str:
        return f"<HandBack {self.why}>"


class Skipped:
    """A record not handled because an earlier delivery of it was (idempotency), and why."""

    __slots__ = ("result", "why")

    #: The idempotency store holds the record as completed.
    DUPLICATE = "duplicate"

    def __init__(self, why: str, result: Any = None) -> None:
        self.why = why
        #: What the handler returned the first time, when the store kept it.
        self.result = result

    def __repr__(self) -> str:
        return f"<Skipped {self.why}>"


class Counts:
    """How many records ended in each place."""

    __slots__ = ("handed_back", "processed", "quarantined", "skipped")

    def __init__(self, processed: int, skipped: int, quarantined: int, handed_back: int) -> None:
        self.processed = processed
        self.skipped = skipped
        self.quarantined = quarantined
        self.handed_back = handed_back

    def __repr__(self) -> str:
        return (
            f"Counts(processed={self.processed}, skipped={self.skipped}, "
            f"quarantined={self.quarantined}, handed_back={self.handed_back})"
        )


class BatchResult:
    """What happened to one batch: one outcome per record (``outcomes``), and what follows from them.

    ``response`` is what the Lambda handler returns.
    """

    __slots__ = (
        "aggregated_records",
        "duration_ms",
        "event_source",
        "incomplete",
        "outcomes",
        "raw_records",
        "response_extras",
        "sources",
        "undelivered",
        "user_records",
    )

    def __init__(self) -> None:
        self.event_source: str | None = None
        self.raw_records: list[Any] = []
        #: The source of each record, by position.
        self.sources: list[Source] = []
        #: One cell per record, by position: None (pending), PROCESSED or a Record, a Skipped, a
        #: QuarantinedRecord, a HandBack.
        self.outcomes: list[Any] = []
        #: Keys the response carries beside ``batchItemFailures`` (a tumbling window's ``state``).
        self.response_extras: dict[str, Any] = {}
        self.undelivered = 0  # envelopes the quarantine sink did not take, kept in S3 or the log instead
        #: Records were handed back but the mapping does not report batch-item failures: the
        #: Lambda handler raises so that Lambda retries the batch (see StreamProcessor).
        self.incomplete = False
        self.duration_ms = 0.0
        #: KPL aggregates in the event that were read as their user records, and how many user records
        #: they held. Each user record has its own outcome, so the event held
        #: ``received - user_records + aggregated_records`` Kinesis records.
        self.aggregated_records = 0
        self.user_records = 0

    @property
    def received(self) -> int:
        return len(self.outcomes)

    @property
    def processed(self) -> list[Record]:
        """The processed records that were kept (all of them with :meth:`StreamProcessor.process`)."""
        return [cell for cell in self.outcomes if isinstance(cell, Record)]

    @property
    def processed_count(self) -> int:
        """How many records were processed, kept in ``processed`` or not."""
        return self.counts().processed

    @property
    def skipped(self) -> list[tuple[int, Skipped]]:
        """``(position, why)`` of each record skipped as done already, in batch order."""
        return [(index, cell) for index, cell in enumerate(self.outcomes) if type(cell) is Skipped]

    @property
    def quarantined(self) -> list[QuarantinedRecord]:
        return [cell for cell in self.outcomes if type(cell) is QuarantinedRecord]

    @property
    def handed_back(self) -> list[tuple[int, HandBack]]:
        """``(position, why)`` of each record handed back to Lambda, in batch order."""
        return [(index, cell) for index, cell in enumerate(self.outcomes) if type(cell) is HandBack]

    def _all_processed_unkept(self) -> bool:
        # A clean batch through the Lambda entry: one C-speed pass (identity hits) answers everything.
        cells = self.outcomes
        return cells.count(PROCESSED) == len(cells)

    @property
    def item_failures(self) -> list[ItemIdentifier]:
        """The item identifiers returned in ``batchItemFailures``, in batch order, each once (the user
        records of one KPL aggregate share theirs)."""
        if self._all_processed_unkept():
            return []
        sources, raws = self.sources, self.raw_records
        items: list[ItemIdentifier] = []
        seen: set[object] = set()
        for index, cell in enumerate(self.outcomes):
            if type(cell) is not HandBack:
                continue
            item = sources[index].item_identifier(raws[index])
            if item is None:
                continue
            key = item if isinstance(item, str) else repr(sorted(item.items()))
            if key not in seen:
                seen.add(key)
                items.append(item)
        return items

    @property
    def accounting_ok(self) -> bool:
        """Every record has exactly one outcome."""
        return self._all_processed_unkept() or None not in self.outcomes

    def counts(self) -> Counts:
        """How many records ended in each place, in one pass."""
        if self._all_processed_unkept():
            return Counts(len(self.outcomes), 0, 0, 0)
        processed = skipped = quarantined = handed_back = 0
        for cell in self.outcomes:
            kind = type(cell)
            if kind is QuarantinedRecord:
                quarantined += 1
            elif kind is HandBack:
                handed_back += 1
            elif kind is Skipped:
                skipped += 1
            elif cell is not None:
                processed += 1
        return Counts(processed, skipped, quarantined, handed_back)

    @property
    def response(self) -> BatchResponse:
        response: BatchResponse = {
            "batchItemFailures": [{"itemIdentifier": item} for item in self.item_failures]
        }
        if self.response_extras:
            response.update(self.response_extras)  # type: ignore[typeddict-item]
        return response

    def __repr__(self) -> str:
        counts = self.counts()
        return (
            f"<BatchResult received={self.received} processed={counts.processed} skipped={counts.skipped} "
            f"quarantined={counts.quarantined} handed_back={counts.handed_back}>"
        )
