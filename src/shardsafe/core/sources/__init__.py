"""The event sources shardsafe reads, one module each, and where each record of an event comes from.

Adding a source is a module with a :class:`~shardsafe.core.sources.base.Source` subclass and its
:class:`~shardsafe.core.records.Record` subclass, plus one line in :data:`SOURCES` (or, for a source of
your own, ``StreamProcessor(sources=(*SOURCES, MySource()))``).

:func:`read_event` finds the records of an event and each one's source: the source named by each record
of a ``{"Records": [...]}`` event (Kinesis, DynamoDB Streams, SQS), or the one an event names at its top
(``eventSource``: Kafka's shape), which then reads its own records. Each record is read by its own
source, so a record that names no source shardsafe knows is quarantined on its own
(``malformed_record``) and the others go on.
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import Record, json_bytes
from shardsafe.core.sources.base import Source, get, str_or_none
from shardsafe.core.sources.dynamodb import DYNAMODB, DynamoDBRecord, DynamoDBSource
from shardsafe.core.sources.kinesis import KINESIS, KinesisRecord, KinesisSource
from shardsafe.core.sources.sqs import SQS, SqsRecord, SqsSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: The sources every processor reads.
SOURCES: tuple[Source, ...] = (
    KinesisRecord.source,
    DynamoDBRecord.source,
    SqsRecord.source,
)

__all__ = [
    "DYNAMODB",
    "KINESIS",
    "SOURCES",
    "SQS",
    "Batch",
    "DynamoDBRecord",
    "DynamoDBSource",
    "KinesisRecord",
    "KinesisSource",
    "Source",
    "SqsRecord",
    "SqsSource",
    "by_name",
    "read_event",
]


def by_name(sources: Iterable[Source]) -> dict[str, Source]:
    """The registry a processor reads events with: each source under its ``eventSource``."""
    registry: dict[str, Source] = {}
    for source in sources:
        registry[source.name] = source
    return registry


class Batch:
    """The records of one event, in the order Lambda sent them, and the source of each."""

    __slots__ = ("aggregated_records", "records", "source", "sources", "user_records")

    def __init__(self, records: list[Any], sources: list[Source], source: Source | None) -> None:
        self.records = records
        #: The source of each record, by position.
        self.sources = sources
        #: The one source every record has (the usual batch), or None when they differ.
        self.source = source
        #: KPL aggregates replaced by their user records (:func:`shardsafe.core.sources.kpl.expand`), and
        #: how many user records took their place.
        self.aggregated_records = 0
        self.user_records = 0


def read_event(event: object, registry: dict[str, Source]) -> Batch | str:
    """The records of ``event`` and each one's source; or, for an event shardsafe cannot read at all,
    why (the processor logs such an event in full)."""
    if not isinstance(event, dict):
        return f"the event is a {type(event).__name__}, not an object"
    records = event.get("Records")
    if records is None:
        named = event.get("eventSource")
        source = registry.get(named) if isinstance(named, str) else None
        found = source.event_records(event) if source is not None else None
        if source is None or found is None:
            return f"the event has no list of Records, nor a known eventSource (got {named!r})"
        return Batch(found, [source] * len(found), source)
    if not isinstance(records, list):
        return f"the event's Records is a {type(records).__name__}, not a list"
    # The usual batch: every record names one source. A list of names and one C-speed count say so
    # (a quarter of the per-record cost of the loop below, on 100 B records).
    try:
        names = [raw["eventSource"] for raw in records]
    except (TypeError, KeyError, IndexError):
        names = None
    if names and type(name := names[0]) is str and names.count(name) == len(names):
        shared = registry.get(name)
        if shared is not None:
            return Batch(records, [shared] * len(records), shared)
    first: Source | None = None
    mixed = False
    sources: list[Source] = []
    append = sources.append
    for raw in records:
        named = raw.get("eventSource") if type(raw) is dict else None
        source = registry.get(named) if type(named) is str else None
        if source is None:
            source = UNREADABLE
        if first is None:
            first = source
        elif source is not first:
            mixed = True
        append(source)
    if records and all(source is UNREADABLE for source in sources):
        return (
            "no record of the event names an eventSource shardsafe reads ("
            + ", ".join(sorted(registry))
            + f"); the first names {get(records[0], 'eventSource')!r}"
        )
    return Batch(records, sources, None if mixed else first)


class UnreadableRecord(Record):
    """A record that names no source shardsafe reads: it is quarantined as it is."""

    __slots__ = ()


class UnreadableSource(Source):
    """Reads nothing: a record of it is quarantined (``malformed_record``) with its JSON as the payload."""

    __slots__ = ()
    name = "unknown"
    record_class = UnreadableRecord

    def extract(self, raw: Any) -> Any:
        named = get(raw, "eventSource")
        raise Rejection(
            reasons.MALFORMED_RECORD,
            f"the record's eventSource {named!r} is not one this processor reads"
            if named is not None
            else f"the record is a {type(raw).__name__} without an eventSource",
        )

    def describe(self, raw: Any) -> dict[str, Any]:
        return {
            "eventSource": str_or_none(get(raw, "eventSource")),
            "eventSourceArn": str_or_none(get(raw, "eventSourceARN")),
            "shardId": None,
            "sequenceNumber": None,
            "partitionKey": None,
            "approximateArrivalTimestamp": None,
        }

    def item_identifier(self, raw: Any) -> str | None:
        return None

    def raw_payload(self, raw: Any) -> bytes:
        return json_bytes(raw)


UNREADABLE = UnreadableRecord.source = UnreadableSource()
