"""The record model: one decoded record of a batch, whatever its source.

A :class:`Record` holds the Lambda record as it came (``raw``), its bytes (``payload``) and the
decoded value (``data``); coordinates are read from ``raw`` only when asked for, so a batch that
succeeds allocates one small object per record and nothing more. Each source subclasses it
(:mod:`shardsafe.core.sources`) and names the :class:`~shardsafe.core.sources.base.Source` that reads it.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from shardsafe.core.sources.base import Source


class Record:
    """One record of a batch, decoded.

    ``data`` is what the decoder made of the payload (a dict for ``decode="json"``; for DynamoDB,
    the stream record's ``dynamodb`` section), ``result`` is what the record handler returned.
    """

    __slots__ = ("_payload", "data", "raw", "result")
    source: ClassVar[Source]  # set by the source module that defines the subclass

    def __init__(self, raw: dict[str, Any], payload: bytes | None, data: Any) -> None:
        self.raw = raw
        self._payload = payload
        self.data = data
        self.result: Any = None

    @property
    def payload(self) -> bytes:
        """The record's original bytes, as they would be quarantined."""
        if self._payload is None:
            self._payload = self.source.raw_payload(self.raw)
        return self._payload

    @property
    def event_source_arn(self) -> str | None:
        value = self.raw.get("eventSourceARN")
        return value if isinstance(value, str) else None

    @property
    def sequence_number(self) -> str | None:
        """The stream sequence number (for SQS, the FIFO sequence number if any)."""
        value: str | None = self.describe()["sequenceNumber"]
        return value

    @property
    def partition_key(self) -> str | None:
        """The Kinesis partition key (for SQS FIFO, the message group id)."""
        value: str | None = self.describe()["partitionKey"]
        return value

    @property
    def shard_id(self) -> str | None:
        """The Kinesis shard id, from ``eventID``; None for sources that do not carry it."""
        value: str | None = self.describe()["shardId"]
        return value

    @property
    def approximate_arrival_timestamp(self) -> float | None:
        """Seconds since the epoch when the record reached the stream (or queue)."""
        value: float | None = self.describe()["approximateArrivalTimestamp"]
        return value

    @property
    def item_identifier(self) -> str | None:
        """The id Lambda expects in ``batchItemFailures`` for this record."""
        return self.source.item_identifier(self.raw)

    def describe(self) -> dict[str, Any]:
        """The record's coordinates in the form of the quarantine envelope's ``record`` section."""
        return self.source.describe(self.raw)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.item_identifier}>"


def json_bytes(value: object) -> bytes:
    """Compact, key-sorted JSON of anything (unknown types as their repr): how a non-bytes record is kept."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=repr).encode(
        "utf-8", "surrogatepass"
    )
