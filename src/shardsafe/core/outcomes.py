"""Outcomes: what happened to each record, recorded once, by its position in the batch.

A batch's :class:`BatchResult` holds one cell per record, in the order Lambda sent them. A cell
starts empty (``None``: pending) and is settled exactly once, to one of:

- **processed**: the :class:`~shardsafe.Record` itself when the caller keeps records
  (``process()``, a batch handler), else the :data:`PROCESSED` marker;
- **quarantined**: a :class:`QuarantinedRecord` (reason, error, the original bytes);
- **handed back** to Lambda: a :class:`HandBack` (why), reported in ``batchItemFailures``.

Every count, the response and the summary line are read off the cells, so "every record ends in
exactly one place" holds by construction rather than by reconciling lists afterwards. Later
outcomes (skipped as a duplicate, for idempotency) are one more cell type.
"""

from __future__ import annotations

from shardsafe.core.records import Record

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.sources.base import Source
    from shardsafe.core.types import BatchResponse


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
    #: An earlier record was handed back and the source keeps order (streams, FIFO).
    AFTER_FAILURE = "after_earlier_failure"
    #: The invocation was about to time out before the record was handled.
    OUT_OF_TIME = "out_of_time"

    def __init__(self, why: str, error_type: str = "", error_message: str = "") -> None:
        self.why = why
        self.error_type = error_type
        self.error_message = error_message

    def __repr__(self) -> str:
        return f"<HandBack {self.why}>"


class QuarantinedRecord:
    """A poison record: where it was in the batch, why it failed, and its original bytes.

    Its coordinates, sha256 and base64 are worked out once and shared by the poison log line
    and the envelope.
    """

    __slots__ = (
        "_base64",
        "_coordinates",
        "_payload",
        "_sha256",
        "error_message",
        "error_type",
        "extracted",
        "index",
        "raw",
        "reason",
        "source",
    )

    def __init__(
        self,
        source: Source,
        index: int,
        raw: Any,
        reason: str,
        error_type: str,
        error_message: str,
        payload: bytes | None = None,
        *,
        extracted: bool = False,
    ) -> None:
        """``payload``, if given, must be the record's bytes; ``extracted``: the source read them
        from ``raw`` untouched, so a base64 the record carries is theirs."""
        self.source = source
        self.index = index
        self.raw = raw
        self.reason = reason
        self.error_type = error_type
        self.error_message = error_message
        self.extracted = extracted
        self._payload = payload
        self._coordinates: dict[str, Any] | None = None
        self._sha256: str | None = None
        self._base64: str | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.source.raw_payload(self.raw)
        return self._payload

    @property
    def payload_sha256(self) -> str:
        if self._sha256 is None:
            import hashlib  # poison path only: OpenSSL takes milliseconds to load

            self._sha256 = hashlib.sha256(self.payload).hexdigest()
        return self._sha256

    @property
    def payload_base64(self) -> str:
        """The payload in standard base64: only the alphabet, so JSON needs no escapes for it."""
        if self._base64 is None:
            carried = self.source.encoded_payload(self.raw) if self.extracted else None
            self._base64 = carried if carried is not None else base64_text(self.payload)
        return self._base64

    def describe(self) -> dict[str, Any]:
        if self._coordinates is None:
            self._coordinates = self.source.describe(self.raw)
        return self._coordinates

    def __repr__(self) -> str:
        return f"<QuarantinedRecord #{self.index} {self.reason}: {self.error_message[:60]!r}>"


class BatchResult:
    """What happened to one batch: one outcome per record (``outcomes``), and what follows from them.

    ``response`` is what the Lambda handler returns.
    """

    __slots__ = (
        "duration_ms",
        "event_source",
        "incomplete",
        "outcomes",
        "raw_records",
        "source",
        "undelivered",
    )

    def __init__(self) -> None:
        self.event_source: str | None = None
        self.source: Source | None = None
        self.raw_records: list[Any] = []
        #: One cell per record, by position: None (pending), PROCESSED or a Record, a QuarantinedRecord, a HandBack.
        self.outcomes: list[Any] = []
        self.undelivered = 0  # envelopes the quarantine sink did not take, written to the log instead
        #: Records were handed back but the mapping does not report batch-item failures: the
        #: Lambda handler raises so that Lambda retries the batch (see StreamProcessor).
        self.incomplete = False
        self.duration_ms = 0.0

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
        return self.counts()[0]

    def _all_processed_unkept(self) -> bool:
        # A clean batch through the Lambda entry: one C-speed pass (identity hits) answers everything.
        cells = self.outcomes
        return cells.count(PROCESSED) == len(cells)

    @property
    def quarantined(self) -> list[QuarantinedRecord]:
        return [cell for cell in self.outcomes if type(cell) is QuarantinedRecord]

    @property
    def handed_back(self) -> list[tuple[int, HandBack]]:
        """``(position, why)`` of each record handed back to Lambda, in batch order."""
        return [(index, cell) for index, cell in enumerate(self.outcomes) if type(cell) is HandBack]

    @property
    def retried(self) -> list[str]:
        """The item identifiers returned as batch-item failures, in batch order."""
        source, raws = self.source, self.raw_records
        if source is None or self._all_processed_unkept():
            return []
        return [
            item
            for index, cell in enumerate(self.outcomes)
            if type(cell) is HandBack and (item := source.item_identifier(raws[index])) is not None
        ]

    @property
    def accounting_ok(self) -> bool:
        """Every record has exactly one outcome."""
        return self._all_processed_unkept() or None not in self.outcomes

    def counts(self) -> tuple[int, int, int]:
        """``(processed, quarantined, handed back)`` in one pass."""
        if self._all_processed_unkept():
            return len(self.outcomes), 0, 0
        processed = quarantined = handed_back = 0
        for cell in self.outcomes:
            kind = type(cell)
            if kind is QuarantinedRecord:
                quarantined += 1
            elif kind is HandBack:
                handed_back += 1
            elif cell is not None:
                processed += 1
        return processed, quarantined, handed_back

    @property
    def response(self) -> BatchResponse:
        return {"batchItemFailures": [{"itemIdentifier": item} for item in self.retried]}

    def __repr__(self) -> str:
        processed, quarantined, handed_back = self.counts()
        return (
            f"<BatchResult received={self.received} processed={processed} "
            f"quarantined={quarantined} retried={handed_back}>"
        )


def base64_text(data: bytes) -> str:
    """``base64.b64encode(data)`` as text, without importing base64 for it."""
    import binascii  # poison path only

    return binascii.b2a_base64(data, newline=False).decode("ascii")
