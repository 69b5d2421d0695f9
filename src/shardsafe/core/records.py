"""The record model: one decoded record of a batch, whatever its source.

A :class:`Record` holds the Lambda record as it came (``raw``), its bytes (``payload``) and the
decoded value (``data``); coordinates are read from ``raw`` only when asked for, so a batch that
succeeds allocates one small object per record and nothing more.

A handler may change what it is given; what is quarantined, handed back or retried is the record as
delivered. ``data`` is made new for each record (decoded from its bytes: Kinesis, SQS; read from its
image: DynamoDB's item), and ``raw`` is a copy made the first time a handler reads it. Each source subclasses it with the
properties it has (:class:`~shardsafe.KinesisRecord` has a shard and a partition key,
:class:`~shardsafe.SqsRecord` a message id) and names the :class:`~shardsafe.core.sources.base.Source`
that reads it.
"""

from __future__ import annotations

import json
import marshal

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
    handler returned. ``raw`` is a copy of the Lambda record, made when first read: a handler may change
    all three. The class is generic in ``data``'s type, for type checkers only::

        def handle(record: KinesisRecord[Tick]) -> None:   # StreamProcessor(handle, model=Tick)
            print(record.data.price)
    """

    # _raw: the record as Lambda delivered it, never handed out; _raw_copy: what ``raw`` gives, once read
    __slots__ = ("_payload", "_raw", "_raw_copy", "data", "result")
    source: ClassVar[Source]  # set by the source module that defines the subclass
    _raw_copy: Any  # unset until ``raw`` is first read

    def __init__(self, raw: dict[str, Any], payload: bytes | None, data: DataT) -> None:
        self._raw = raw
        self._payload = payload
        self.data = data
        self.result: Any = None

    @property
    def raw(self) -> Any:
        """The Lambda record (``{"kinesis": {...}, "eventID": ...}``): a copy, made the first time it is read,
        so that a handler may change it (parse ``raw["body"]`` in place) without changing what is kept."""
        try:
            return self._raw_copy
        except AttributeError:
            copy = self._raw_copy = detached(self._raw)
            return copy

    @raw.setter
    def raw(self, value: Any) -> None:
        self._raw_copy = value

    @property
    def payload(self) -> bytes:
        """The record's original bytes, as they would be quarantined."""
        if self._payload is None:
            self._payload = self.source.raw_payload(self._raw)
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
        return self.source.item_identifier(self._raw)

    @property
    def identity(self) -> tuple[str, ...] | None:
        """What names this record and no other across deliveries (see :meth:`Source.identity`)."""
        return self.source.identity(self._raw)

    def describe(self) -> dict[str, Any]:
        """The record's coordinates in the form of the quarantine envelope's ``record`` section."""
        return self.source.describe(self._raw)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.item_identifier}>"


def detached(value: Any) -> Any:
    """A deep copy of ``value``, which shares no object with it: what a handler gets of a delivered record.

    Lambda's records are dicts, lists, strings, numbers, booleans and None, which :mod:`marshal` copies
    in C (a Kinesis record in about 2 µs, a fifth of ``copy.deepcopy``'s time); anything else is copied
    by ``copy.deepcopy``.
    """
    try:
        return marshal.loads(marshal.dumps(value))  # noqa: S302 - bytes it just wrote, never read from outside
    except ValueError:  # an object marshal does not take (a dict subclass, a custom class)
        import copy

        return copy.deepcopy(value)


class Snapshot:
    """A value as it was when taken; :meth:`copy` gives a fresh deep copy of it each time, or raises
    ``TypeError`` when the value could not be copied (an object ``copy.deepcopy`` refuses).

    Plain values (what :func:`detached` copies with marshal) are kept as marshal's bytes, so taking a
    snapshot costs one serialisation and each copy one deserialisation.
    """

    __slots__ = ("_marshalled", "_value")

    def __init__(self, value: Any) -> None:
        self._value: Any = None
        try:
            self._marshalled: bytes | None = marshal.dumps(value)
        except ValueError:
            self._marshalled = None
            import copy

            try:
                self._value = (copy.deepcopy(value),)
            except Exception:  # a lock, a client, a generator: not copyable
                self._value = None

    def copy(self) -> Any:
        if self._marshalled is not None:
            return marshal.loads(self._marshalled)  # noqa: S302 - bytes it wrote itself
        if self._value is None:
            raise TypeError("the value could not be copied when the snapshot was taken")
        import copy

        return copy.deepcopy(self._value[0])


def json_bytes(value: object) -> bytes:
    """Compact, key-sorted JSON of anything (unknown types as their repr): how a non-bytes record is kept."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=repr).encode(
        "utf-8", "surrogatepass"
    )
