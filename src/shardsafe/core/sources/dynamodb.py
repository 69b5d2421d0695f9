"""DynamoDB Streams: a record's data is its item, as Python values; quarantined as the whole record's JSON.

A stream record (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html)
carries the change's ``Keys`` and, as the stream's view type allows, the item's ``NewImage`` and
``OldImage``, in DynamoDB's attribute-value JSON. The record's ``data``, what a validator, a model and
the handler see, is the item the change is about:

- ``INSERT`` and ``MODIFY``: the new image;
- ``REMOVE``: the old image, the item as it was before the delete (check ``record.event_name`` before
  writing ``data`` anywhere);
- the keys, when the stream carries no such image (``KEYS_ONLY``, or ``NEW_IMAGE`` for a ``REMOVE``).

Values are read as boto3's ``TypeDeserializer`` reads them (:mod:`.attribute_values`), without boto3.
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import DataT, Record, json_bytes
from shardsafe.core.sources.attribute_values import MalformedAttributeValue, item
from shardsafe.core.sources.base import Source, float_or_none, get, section, str_or_none

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DYNAMODB = "aws:dynamodb"
INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"
#: Who deletes an expired item: a REMOVE by Time to Live carries this ``userIdentity``
#: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html).
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


class DynamoDBRecord(Record[DataT]):
    """A DynamoDB stream record: ``data`` is its item as Python values (the new image; for a ``REMOVE``,
    the old one; the keys when the stream has no image), unless a model or converter made something else of it.

    ``keys``, ``new_image`` and ``old_image`` read the record's own sections again on each access, so
    they are the stream's values whatever ``data`` became.
    """

    __slots__ = ()

    @property
    def event_name(self) -> str | None:
        """What changed the item: ``INSERT`` (a new item), ``MODIFY`` (an item changed) or ``REMOVE`` (an item
        deleted, by a caller or by Time to Live: see :attr:`is_ttl_delete`)."""
        return str_or_none(get(self._raw, "eventName"))

    @property
    def keys(self) -> dict[str, Any] | None:
        """The item's primary key attributes, as Python values (``{"pk": "order-1"}``)."""
        return _image(self._raw, "Keys")

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change, as Python values; None for a ``REMOVE``, or when the stream's view
        type (``KEYS_ONLY``, ``OLD_IMAGE``) leaves it out."""
        return _image(self._raw, "NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change, as Python values; None for an ``INSERT``, or when the stream's
        view type (``KEYS_ONLY``, ``NEW_IMAGE``) leaves it out."""
        return _image(self._raw, "OldImage")

    @property
    def is_ttl_delete(self) -> bool:
        """Whether DynamoDB's Time to Live deleted the item (an expired item), not a caller: a ``REMOVE``
        whose ``userIdentity`` is ``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``."""
        identity = get(self._raw, "userIdentity")
        return (
            self.event_name == REMOVE
            and isinstance(identity, dict)
            and identity.get("type") == TTL_IDENTITY["type"]
            and identity.get("principalId") == TTL_IDENTITY["principalId"]
        )

    @property
    def table_name(self) -> str | None:
        """The table's name, from the stream's ARN (``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/...``)."""
        return table_of(get(self._raw, "eventSourceARN"))

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

    def extract(self, raw: Any) -> dict[str, Any]:
        """The item the change is about, as Python values (see the module's docstring)."""
        try:
            stream_record = raw["dynamodb"]
        except (KeyError, TypeError, IndexError):
            raise Rejection(reasons.MALFORMED_RECORD, "record has no dynamodb section") from None
        if type(stream_record) is not dict:
            raise Rejection(
                reasons.MALFORMED_RECORD, f"dynamodb is a {type(stream_record).__name__}, not an object"
            )
        name = "OldImage" if raw.get("eventName") == REMOVE else "NewImage"
        image = stream_record.get(name)
        if image is None:
            name, image = "Keys", stream_record.get("Keys")
            if image is None:
                raise Rejection(reasons.MALFORMED_RECORD, "record has neither Keys nor an image")
        try:
            return item(image)
        except (MalformedAttributeValue, RecursionError) as error:
            raise Rejection(reasons.MALFORMED_RECORD, f"dynamodb.{name}: {error}") from None

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


def table_of(arn: object) -> str | None:
    """The table's name in a table or stream ARN; None for anything else."""
    if not isinstance(arn, str):
        return None
    kind, _, rest = arn.split(":", 5)[-1].partition("/")
    if kind != "table":
        return None
    return rest.partition("/")[0] or None


def _image(raw: object, name: str) -> dict[str, Any] | None:
    image = section(raw, "dynamodb").get(name)
    return None if image is None else item(image)


DynamoDBRecord.source = DynamoDBSource()
