"""DynamoDB Streams: the record is data already (its ``dynamodb`` section); quarantined as the whole record's JSON."""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import Record, json_bytes
from shardsafe.core.sources.base import Source, float_or_none, get, section, str_or_none

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DYNAMODB = "aws:dynamodb"


class DynamoDBRecord(Record):
    """A DynamoDB stream record: ``data`` is its ``dynamodb`` section (``Keys``, ``NewImage``, ...)."""

    __slots__ = ()

    @property
    def event_name(self) -> str | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        return str_or_none(get(self._raw, "eventName"))

    @property
    def sequence_number(self) -> str | None:
        """The stream record's sequence number (what ``batchItemFailures`` reports)."""
        return str_or_none(section(self._raw, "dynamodb").get("SequenceNumber"))

    @property
    def approximate_creation_time(self) -> float | None:
        """Seconds since the epoch when the change was made (``ApproximateCreationDateTime``)."""
        return float_or_none(section(self._raw, "dynamodb").get("ApproximateCreationDateTime"))


class DynamoDBSource(Source):
    __slots__ = ()
    name = DYNAMODB
    record_class = DynamoDBRecord
    decodes = False
    hands_out = "dynamodb"  # a handler may deserialise NewImage in place: the run loop keeps a snapshot

    def extract(self, raw: Any) -> dict[str, Any]:
        try:
            stream_record = raw["dynamodb"]
        except (KeyError, TypeError, IndexError):
            raise Rejection(reasons.MALFORMED_RECORD, "record has no dynamodb section") from None
        if type(stream_record) is not dict:
            raise Rejection(
                reasons.MALFORMED_RECORD, f"dynamodb is a {type(stream_record).__name__}, not an object"
            )
        return stream_record  # handed out as it is: the run loop keeps a snapshot (hands_out)

    def describe(self, raw: Any) -> dict[str, Any]:
        stream_record = section(raw, "dynamodb")
        keys = stream_record.get("Keys")
        return {
            "eventSource": DYNAMODB,
            "eventSourceArn": str_or_none(get(raw, "eventSourceARN")),
            "shardId": None,
            "sequenceNumber": str_or_none(stream_record.get("SequenceNumber")),
            "partitionKey": None,
            "approximateArrivalTimestamp": float_or_none(stream_record.get("ApproximateCreationDateTime")),
            "keys": keys if isinstance(keys, dict) else None,
        }

    def item_identifier(self, raw: Any) -> str | None:
        return str_or_none(section(raw, "dynamodb").get("SequenceNumber"))

    def identity(self, raw: Any) -> tuple[str, ...] | None:
        arn, event_id = str_or_none(get(raw, "eventSourceARN")), str_or_none(get(raw, "eventID"))
        return (arn, event_id) if arn and event_id else None

    def raw_payload(self, raw: Any) -> bytes:
        return json_bytes(raw)


DynamoDBRecord.source = DynamoDBSource()
