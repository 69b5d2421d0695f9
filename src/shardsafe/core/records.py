"""The record model: one decoded record of a batch, whatever its source.

A :class:`Record` holds the Lambda record as it came (``raw``), its bytes (``payload``) and the
decoded value (``data``); coordinates are read from ``raw`` only when asked for, so a batch that
succeeds allocates one small object per record and nothing more. Each source subclasses it with the
properties it has (:class:`~shardsafe.KinesisRecord` has a shard and a partition key,
:class:`~shardsafe.SqsRecord` a message id) and names the :class:`~shardsafe.core.sources.base.Source`
that reads it.
"""

from __future__ import annotations

import json

from shardsafe.core.generic import Generic

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from typing_extensions import TypeVar

    from shardsafe.core.sources.base import ItemIdentifier, Source

    #: The type of ``Record.data``: what the decoder, the model or the converter made of the payload.
    DataT = TypeVar("DataT", default=Any)
else:
    DataT = None


class Record(Generic[DataT]):
    """One record of a batch, decoded.

    ``data`` is what the decoder made of the payload (a dict for ``decode="json"``; for DynamoDB,
    the item), or what ``model=`` or ``convert=`` made of that; ``result`` is what the record
    handler returned. The class is generic in ``data``'s type, for type checkers only::

        def handle(record: KinesisRecord[Tick]) -> None:   # StreamProcessor(handle, model=Tick)
            print(record.data.price)
    """

    __slots__ = ("_payload", "data", "raw", "result")
    source: ClassVar[Source]  # set by the source module that defines the subclass

    def __init__(self, raw: dict[str, Any], payload: bytes | None, data: DataT) -> None:
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
    def event_source(self) -> str:
        """The source's ``eventSource`` (``aws:kinesis``, ``aws:dynamodb``, ``aws:sqs``)."""
        return self.source.name

    @property
    def event_source_arn(self) -> str | None:
        """The stream's, table stream's or queue's ARN."""
        value = self.describe()["eventSourceArn"]
        return value if isinstance(value, str) else None

    @property
    def item_identifier(self) -> ItemIdentifier | None:
        """The id Lambda expects in ``batchItemFailures`` for this record."""
        return self.source.item_identifier(self.raw)

    @property
    def identity(self) -> tuple[str, ...] | None:
        """What names this record and no other across deliveries (see :meth:`Source.identity`)."""
        return self.source.identity(self.raw)

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
