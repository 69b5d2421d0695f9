"""Kinesis Data Streams: ``kinesis.data`` is the payload in base64; the sequence number reports a failure.

A KPL aggregate is expanded into its user records before the run loop (:mod:`shardsafe.core.sources.kpl`).
"""

from __future__ import annotations

import binascii

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import DataT, Record, json_bytes
from shardsafe.core.sources.base import Source, float_or_none, get, section, str_or_none

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KINESIS = "aws:kinesis"


class KinesisRecord(Record[DataT]):
    """A Kinesis record: ``data`` is its decoded payload."""

    __slots__ = ()

    @property
    def sequence_number(self) -> str | None:
        """The record's sequence number in its shard (what ``batchItemFailures`` reports)."""
        return str_or_none(section(self._raw, "kinesis").get("sequenceNumber"))

    @property
    def partition_key(self) -> str | None:
        """The partition key the producer put the record with."""
        return str_or_none(section(self._raw, "kinesis").get("partitionKey"))

    @property
    def shard_id(self) -> str | None:
        """The shard, from ``eventID`` (``shardId-000000000000:<sequence number>``)."""
        return shard_of(self._raw)

    @property
    def approximate_arrival_timestamp(self) -> float | None:
        """Seconds since the epoch when the record reached the stream."""
        return float_or_none(section(self._raw, "kinesis").get("approximateArrivalTimestamp"))

    @property
    def sub_sequence_number(self) -> int | None:
        """A KPL user record's place in its aggregate (from 0); None for a record that was not aggregated."""
        sub = section(self._raw, "kinesis").get("subSequenceNumber")
        return sub if type(sub) is int else None

    @property
    def explicit_hash_key(self) -> str | None:
        """The explicit hash key a KPL user record was given, if any (None otherwise)."""
        return str_or_none(section(self._raw, "kinesis").get("explicitHashKey"))


def shard_of(raw: object) -> str | None:
    event_id = str_or_none(get(raw, "eventID"))
    return event_id.partition(":")[0] if event_id and event_id.startswith("shardId-") else None


class KinesisSource(Source):
    __slots__ = ()
    name = KINESIS
    record_class = KinesisRecord

    def extract(self, raw: Any) -> bytes:
        try:
            data = raw["kinesis"]["data"]
        except (KeyError, TypeError, IndexError):
            raise Rejection(reasons.MALFORMED_RECORD, "record has no kinesis.data") from None
        if type(data) is not str:
            raise Rejection(
                reasons.MALFORMED_RECORD, f"kinesis.data is a {type(data).__name__}, not a string"
            )
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except (binascii.Error, ValueError) as error:
            raise Rejection(reasons.BAD_BASE64, error) from None

    def encoded_payload(self, raw: Any) -> str | None:
        # extract() read it and accepted it as strict base64: only the alphabet, no escapes needed
        data = section(raw, "kinesis").get("data")
        return data if type(data) is str else None

    def describe(self, raw: Any) -> dict[str, Any]:
        kinesis = section(raw, "kinesis")
        return {
            "eventSource": KINESIS,
            "eventSourceArn": str_or_none(get(raw, "eventSourceARN")),
            "shardId": shard_of(raw),
            "sequenceNumber": str_or_none(kinesis.get("sequenceNumber")),
            "partitionKey": str_or_none(kinesis.get("partitionKey")),
            "approximateArrivalTimestamp": float_or_none(kinesis.get("approximateArrivalTimestamp")),
        }

    def item_identifier(self, raw: Any) -> str | None:
        return str_or_none(section(raw, "kinesis").get("sequenceNumber"))

    def identity(self, raw: Any) -> tuple[str, ...] | None:
        arn, shard = str_or_none(get(raw, "eventSourceARN")), shard_of(raw)
        sequence = str_or_none(section(raw, "kinesis").get("sequenceNumber"))
        return (arn, shard, sequence) if arn and shard and sequence else None

    def raw_payload(self, raw: Any) -> bytes:
        data = section(raw, "kinesis").get("data")
        if isinstance(data, str):
            try:
                return binascii.a2b_base64(data, strict_mode=True)
            except (binascii.Error, ValueError):
                return data.encode("utf-8", "surrogatepass")
        return json_bytes(raw)


KinesisRecord.source = KinesisSource()
