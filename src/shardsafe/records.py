"""The record model: one decoded record of a Kinesis, DynamoDB Streams or SQS batch.

A :class:`Record` holds the Lambda record as it came (``raw``), its bytes (``payload``) and the
decoded value (``data``); stream coordinates are read from ``raw`` only when asked for, so a batch
that succeeds allocates one small object per record and nothing more.

Each source also has a :class:`Source`: how to get a record's bytes, how to describe any record
(even a malformed one) for logs and envelopes, and which id reports it as a batch-item failure.
"""

from __future__ import annotations

import binascii
import json

from shardsafe import reasons
from shardsafe.decoding import Rejection

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar

KINESIS = "aws:kinesis"
DYNAMODB = "aws:dynamodb"
SQS = "aws:sqs"


class Record:
    """One record of a batch, decoded.

    ``data`` is what the decoder made of the payload (a dict for ``decode="json"``; for DynamoDB,
    the stream record's ``dynamodb`` section), ``result`` is what the record handler returned.
    """

    __slots__ = ("_payload", "data", "raw", "result")
    event_source: ClassVar[str] = ""

    def __init__(self, raw: dict[str, Any], payload: bytes | None, data: Any) -> None:
        self.raw = raw
        self._payload = payload
        self.data = data
        self.result: Any = None

    @property
    def payload(self) -> bytes:
        """The record's original bytes, as they would be quarantined."""
        if self._payload is None:
            self._payload = SOURCES[self.event_source].raw_payload(self.raw)
        return self._payload

    @property
    def event_source_arn(self) -> str | None:
        value = self.raw.get("eventSourceARN")
        return value if isinstance(value, str) else None

    @property
    def sequence_number(self) -> str | None:
        """The stream sequence number (for SQS, the FIFO sequence number if any)."""
        value: str | None = SOURCES[self.event_source].describe(self.raw)["sequenceNumber"]
        return value

    @property
    def partition_key(self) -> str | None:
        """The Kinesis partition key (for SQS FIFO, the message group id)."""
        value: str | None = SOURCES[self.event_source].describe(self.raw)["partitionKey"]
        return value

    @property
    def shard_id(self) -> str | None:
        """The Kinesis shard id, from ``eventID``; None for sources that do not carry it."""
        value: str | None = SOURCES[self.event_source].describe(self.raw)["shardId"]
        return value

    @property
    def approximate_arrival_timestamp(self) -> float | None:
        """Seconds since the epoch when the record reached the stream (or queue)."""
        value: float | None = SOURCES[self.event_source].describe(self.raw)["approximateArrivalTimestamp"]
        return value

    @property
    def item_identifier(self) -> str | None:
        """The id Lambda expects in ``batchItemFailures`` for this record."""
        return SOURCES[self.event_source].item_identifier(self.raw)

    def describe(self) -> dict[str, Any]:
        """The record's coordinates in the form of the quarantine envelope's ``record`` section."""
        return SOURCES[self.event_source].describe(self.raw)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.item_identifier}>"


class KinesisRecord(Record):
    __slots__ = ()
    event_source = KINESIS


class DynamoDBRecord(Record):
    __slots__ = ()
    event_source = DYNAMODB

    @property
    def event_name(self) -> str | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        value = self.raw.get("eventName")
        return value if isinstance(value, str) else None


class SqsRecord(Record):
    __slots__ = ()
    event_source = SQS

    @property
    def message_id(self) -> str | None:
        value = self.raw.get("messageId")
        return value if isinstance(value, str) else None


class Source:
    """How shardsafe reads one event source."""

    __slots__ = (
        "decodes",
        "describe",
        "encoded_payload",
        "extract",
        "item_identifier",
        "name",
        "raw_payload",
        "record_class",
    )

    def __init__(
        self,
        name: str,
        record_class: type[Record],
        extract: Callable[[Any], Any],
        describe: Callable[[Any], dict[str, Any]],
        item_identifier: Callable[[Any], str | None],
        raw_payload: Callable[[Any], bytes],
        *,
        decodes: bool,
        encoded_payload: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.name = name
        self.record_class = record_class
        self.extract = extract  # raw record -> bytes to decode (or the data itself if not decodes)
        self.describe = describe  # any raw record -> envelope "record" section, never raises
        self.item_identifier = item_identifier  # any raw record -> batch-item failure id, never raises
        self.raw_payload = raw_payload  # any raw record -> the bytes to quarantine, never raises
        self.decodes = decodes
        # a raw record extract() just read -> its payload's base64 as the record carries it
        # (Kinesis' data, which extract decoded strictly), or None: the bytes are encoded instead
        self.encoded_payload = encoded_payload


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _float_or_none(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _section(raw: object, key: str) -> dict[str, Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def _get(raw: object, key: str) -> object:
    return raw.get(key) if isinstance(raw, dict) else None


def json_bytes(value: object) -> bytes:
    """Compact, key-sorted JSON of anything (unknown types as their repr): how a non-bytes record is kept."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=repr).encode(
        "utf-8", "surrogatepass"
    )


# --- Kinesis ---


def _kinesis_extract(raw: Any) -> bytes:
    try:
        data = raw["kinesis"]["data"]
    except (KeyError, TypeError, IndexError):
        raise Rejection(reasons.MALFORMED_RECORD, "record has no kinesis.data") from None
    if type(data) is not str:
        raise Rejection(reasons.MALFORMED_RECORD, f"kinesis.data is a {type(data).__name__}, not a string")
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise Rejection(reasons.BAD_BASE64, error) from None


def _kinesis_encoded_payload(raw: Any) -> str | None:
    data = raw["kinesis"]["data"]  # extract() read it and accepted it as strict base64: only the alphabet
    return data if type(data) is str else None


def _kinesis_describe(raw: Any) -> dict[str, Any]:
    kinesis = _section(raw, "kinesis")
    event_id = _str_or_none(_get(raw, "eventID"))
    shard_id = event_id.partition(":")[0] if event_id and event_id.startswith("shardId-") else None
    return {
        "eventSource": KINESIS,
        "eventSourceArn": _str_or_none(_get(raw, "eventSourceARN")),
        "shardId": shard_id,
        "sequenceNumber": _str_or_none(kinesis.get("sequenceNumber")),
        "partitionKey": _str_or_none(kinesis.get("partitionKey")),
        "approximateArrivalTimestamp": _float_or_none(kinesis.get("approximateArrivalTimestamp")),
    }


def _kinesis_item_identifier(raw: Any) -> str | None:
    return _str_or_none(_section(raw, "kinesis").get("sequenceNumber"))


def _kinesis_raw_payload(raw: Any) -> bytes:
    data = _section(raw, "kinesis").get("data")
    if isinstance(data, str):
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except (binascii.Error, ValueError):
            return data.encode("utf-8", "surrogatepass")
    return json_bytes(raw)


# --- DynamoDB Streams ---


def _dynamodb_extract(raw: Any) -> dict[str, Any]:
    try:
        section = raw["dynamodb"]
    except (KeyError, TypeError, IndexError):
        raise Rejection(reasons.MALFORMED_RECORD, "record has no dynamodb section") from None
    if type(section) is not dict:
        raise Rejection(reasons.MALFORMED_RECORD, f"dynamodb is a {type(section).__name__}, not an object")
    return section


def _dynamodb_describe(raw: Any) -> dict[str, Any]:
    section = _section(raw, "dynamodb")
    keys = section.get("Keys")
    return {
        "eventSource": DYNAMODB,
        "eventSourceArn": _str_or_none(_get(raw, "eventSourceARN")),
        "shardId": None,
        "sequenceNumber": _str_or_none(section.get("SequenceNumber")),
        "partitionKey": None,
        "approximateArrivalTimestamp": _float_or_none(section.get("ApproximateCreationDateTime")),
        "keys": keys if isinstance(keys, dict) else None,
    }


def _dynamodb_item_identifier(raw: Any) -> str | None:
    return _str_or_none(_section(raw, "dynamodb").get("SequenceNumber"))


# --- SQS ---


def _sqs_extract(raw: Any) -> bytes:
    try:
        body = raw["body"]
    except (KeyError, TypeError, IndexError):
        raise Rejection(reasons.MALFORMED_RECORD, "record has no body") from None
    if type(body) is not str:
        raise Rejection(reasons.MALFORMED_RECORD, f"body is a {type(body).__name__}, not a string")
    return body.encode("utf-8", "surrogatepass")


def _sqs_describe(raw: Any) -> dict[str, Any]:
    attributes = _section(raw, "attributes")
    sent_ms = _float_or_none(attributes.get("SentTimestamp"))
    return {
        "eventSource": SQS,
        "eventSourceArn": _str_or_none(_get(raw, "eventSourceARN")),
        "shardId": None,
        "sequenceNumber": _str_or_none(attributes.get("SequenceNumber")),
        "partitionKey": _str_or_none(attributes.get("MessageGroupId")),
        "approximateArrivalTimestamp": None if sent_ms is None else sent_ms / 1000.0,
        "messageId": _str_or_none(_get(raw, "messageId")),
    }


def _sqs_item_identifier(raw: Any) -> str | None:
    return _str_or_none(_get(raw, "messageId"))


def _sqs_raw_payload(raw: Any) -> bytes:
    body = _get(raw, "body")
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else json_bytes(raw)


SOURCES: dict[str, Source] = {
    KINESIS: Source(
        KINESIS,
        KinesisRecord,
        _kinesis_extract,
        _kinesis_describe,
        _kinesis_item_identifier,
        _kinesis_raw_payload,
        decodes=True,
        encoded_payload=_kinesis_encoded_payload,
    ),
    DYNAMODB: Source(
        DYNAMODB,
        DynamoDBRecord,
        _dynamodb_extract,
        _dynamodb_describe,
        _dynamodb_item_identifier,
        json_bytes,
        decodes=False,
    ),
    SQS: Source(
        SQS,
        SqsRecord,
        _sqs_extract,
        _sqs_describe,
        _sqs_item_identifier,
        _sqs_raw_payload,
        decodes=True,
    ),
}
