"""What every source provides: where its records are in an event, how to read, describe and identify one,
and what Lambda must retry when one is handed back.

A source is one small subclass of :class:`Source` in a file of its own, listed in
:data:`shardsafe.core.sources.SOURCES` (or passed to ``StreamProcessor(sources=...)``). It owns:

- the event's shape: a ``{"Records": [...]}`` event names each record's source in the record
  (``eventSource``), and the registry reads it; an event shaped otherwise (Kafka's ``records`` keyed by
  topic-partition) names its source at the top, and :meth:`Source.event_records` finds its records;
- its record class (:attr:`Source.record_class`) with the properties that source has;
- its item identifier (:meth:`Source.item_identifier`): a string for Kinesis, DynamoDB and SQS, an
  object for Kafka;
- its hand-back rule (:meth:`Source.hand_back`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, ClassVar

    from shardsafe.core.records import Record

    #: What Lambda reads in ``batchItemFailures[].itemIdentifier``: a string, or an object (Kafka).
    ItemIdentifier = str | dict[str, Any]


class Source:
    """How shardsafe reads one event source.

    Every method but :meth:`extract` takes any raw record, even a malformed one, and never raises:
    they are what the poison path uses to log and quarantine what could not be read.
    """

    __slots__ = ()
    #: The ``eventSource`` Lambda writes for this source (``aws:kinesis``).
    name: ClassVar[str]
    record_class: ClassVar[type[Record]]
    #: False when the record is already data (DynamoDB's stream record): no decode stage.
    decodes: ClassVar[bool] = True
    #: True when a body may be a large-message pointer to S3 (SQS): see :mod:`shardsafe.core.stages.pointers`.
    carries_pointers: ClassVar[bool] = False

    # --- the event ---

    def event_records(self, event: Mapping[str, Any]) -> list[Any] | None:
        """The records of an event that names this source at its top level (``eventSource``), in the
        order Lambda sent them; None when the event is not shaped as this source sends it.

        Sources whose events are ``{"Records": [...]}`` keep this default: the registry reads those.
        """
        return None

    # --- one record ---

    def extract(self, raw: Any) -> Any:
        """The bytes to decode (or, when not ``decodes``, the data itself: a new object, never a part of
        ``raw``, which user code must not hold); raises ``Rejection``."""
        raise NotImplementedError

    def describe(self, raw: Any) -> dict[str, Any]:
        """The envelope's ``record`` section: where the record came from.

        The keys every source fills (None where it has no such thing): ``eventSource``,
        ``eventSourceArn``, ``shardId``, ``sequenceNumber``, ``partitionKey``,
        ``approximateArrivalTimestamp``; a source adds its own after them.
        """
        raise NotImplementedError

    def item_identifier(self, raw: Any) -> ItemIdentifier | None:
        """The id Lambda expects in ``batchItemFailures``; None when the record has none."""
        raise NotImplementedError

    def identity(self, raw: Any) -> tuple[str, ...] | None:
        """What names this record and no other, across deliveries (what idempotency keys on): the
        stream's ARN, shard and sequence number; a queue's ARN and message id. None when the record
        lacks it."""
        return None

    def raw_payload(self, raw: Any) -> bytes:
        """The bytes to quarantine: the record's own, as it arrived."""
        raise NotImplementedError

    def message_attribute(self, raw: Any, name: str) -> str | None:
        """A message attribute's string value (SQS's ``messageAttributes``); None when there is none."""
        return None

    def encoded_payload(self, raw: Any) -> str | None:
        """The payload's standard base64 as the record carries it, if it does, for a record whose
        :meth:`extract` succeeded; None: the bytes are encoded instead."""
        return None

    def hand_back(self, records: Sequence[Any], index: int, *, fifo_scope: str) -> Sequence[int]:
        """The positions Lambda must retry when the record at ``index`` is handed back.

        Streams (Kinesis, DynamoDB) checkpoint at the lowest failed sequence number and deliver
        everything after it again, so the record and every later one are handed back, keeping
        order: https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
        """
        return range(index, len(records))


def str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def float_or_none(value: object) -> float | None:
    """A number as a float, or None; never raises (a number too big for a float is None too)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float, str)):
            number = float(value)
            return number if number - number == 0 else None  # not NaN, not an infinity
    except (ValueError, OverflowError):
        return None
    return None


def section(raw: object, key: str) -> dict[str, Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def get(raw: object, key: str) -> object:
    return raw.get(key) if isinstance(raw, dict) else None
