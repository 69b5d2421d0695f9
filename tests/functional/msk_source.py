"""A test-only source shaped like Amazon MSK's events: one file, as a source of shardsafe's own is.

It shows that a source owns its event's shape (``records`` keyed by topic-partition, not ``Records``),
its item identifier (an object: ``{"partition": "<topic>-<partition>", "offset": <offset>}``) and its
hand-back rule (the record and every later record of its topic-partition), and plugs in with one line:
``StreamProcessor(..., sources=(*SOURCES, MskSource()))``.

The event, from https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html::

    {"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:...", "bootstrapServers": "...",
     "records": {"mytopic-0": [{"topic": "mytopic", "partition": 0, "offset": 15,
                                "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
                                "key": "<base64>", "value": "<base64>", "headers": []}]}}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import Record, json_bytes
from shardsafe.core.sources.base import Source, float_or_none, get, str_or_none

KAFKA = "aws:kafka"


def topic_partition(raw: object) -> str | None:
    topic, partition = get(raw, "topic"), get(raw, "partition")
    if isinstance(topic, str) and type(partition) is int:
        return f"{topic}-{partition}"
    return None


class MskRecord(Record):
    __slots__ = ()

    @property
    def topic_partition(self) -> str | None:
        return topic_partition(self._raw)

    @property
    def offset(self) -> int | None:
        value = get(self._raw, "offset")
        return value if type(value) is int else None


class MskSource(Source):
    __slots__ = ()
    name = KAFKA
    record_class = MskRecord

    def event_records(self, event: Mapping[str, Any]) -> list[Any] | None:
        by_partition = event.get("records")
        if not isinstance(by_partition, dict):
            return None
        arn = event.get("eventSourceArn")
        records: list[Any] = []
        for batch in by_partition.values():
            for raw in batch if isinstance(batch, list) else [batch]:
                # the ARN is the event's, not the record's: keep it with the record for describe()
                records.append({**raw, "eventSourceArn": arn} if isinstance(raw, dict) else raw)
        return records

    def extract(self, raw: Any) -> bytes:
        value = get(raw, "value")
        if not isinstance(value, str):
            raise Rejection(reasons.MALFORMED_RECORD, "record has no value")
        try:
            return binascii.a2b_base64(value, strict_mode=True)
        except (binascii.Error, ValueError) as error:
            raise Rejection(reasons.BAD_BASE64, error) from None

    def describe(self, raw: Any) -> dict[str, Any]:
        offset = get(raw, "offset")
        timestamp = float_or_none(get(raw, "timestamp"))
        return {
            "eventSource": KAFKA,
            "eventSourceArn": str_or_none(get(raw, "eventSourceArn")),
            "shardId": topic_partition(raw),
            "sequenceNumber": str(offset) if type(offset) is int else None,
            "partitionKey": str_or_none(get(raw, "key")),
            "approximateArrivalTimestamp": None if timestamp is None else timestamp / 1000.0,
        }

    def item_identifier(self, raw: Any) -> dict[str, Any] | None:
        partition, offset = topic_partition(raw), get(raw, "offset")
        if partition is None or type(offset) is not int:
            return None
        return {"partition": partition, "offset": offset}

    def raw_payload(self, raw: Any) -> bytes:
        value = get(raw, "value")
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return value.encode("utf-8", "surrogatepass")
        return json_bytes(raw)

    def hand_back(self, records: Sequence[Any], index: int, *, fifo_scope: str) -> Sequence[int]:
        """Kafka resumes a partition from the lowest offset reported for it: the record and every later
        one of its topic-partition go back; the other partitions go on."""
        partition = topic_partition(records[index])
        return [later for later in range(index, len(records)) if topic_partition(records[later]) == partition]


MskRecord.source = MskSource()


def msk_event(
    payloads: Sequence[bytes], partitions: Sequence[int], *, topic: str = "ticks"
) -> dict[str, Any]:
    """An MSK event with ``payloads`` in ``partitions`` (one each), offsets counting up per partition."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for payload, partition in zip(payloads, partitions, strict=True):
        batch = by_partition.setdefault(f"{topic}-{partition}", [])
        batch.append(
            {
                "topic": topic,
                "partition": partition,
                "offset": 100 + len(batch),
                "timestamp": 1704067200000 + len(batch),
                "timestampType": "CREATE_TIME",
                "key": base64.b64encode(b"AMZN").decode(),
                "value": base64.b64encode(payload).decode(),
                "headers": [],
            }
        )
    return {
        "eventSource": KAFKA,
        "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/ticks/abc-1",
        "bootstrapServers": "b-1.ticks.kafka.us-east-1.amazonaws.com:9092",
        "records": by_partition,
    }
