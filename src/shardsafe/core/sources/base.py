"""What every source provides: how to read a record's bytes, describe it, and hand it back to Lambda."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, ClassVar

    from shardsafe.core.records import Record


class Source:
    """How shardsafe reads one event source. One small subclass per source, listed in ``SOURCES``.

    Every method but :meth:`extract` takes any raw record, even a malformed one, and never raises:
    they are what the poison path uses to log and quarantine what could not be read.
    """

    __slots__ = ()
    name: ClassVar[str]
    record_class: ClassVar[type[Record]]
    #: False when the record is already data (DynamoDB's stream record): no decode stage.
    decodes: ClassVar[bool] = True

    def extract(self, raw: Any) -> Any:
        """The bytes to decode (or the data itself when not ``decodes``); raises ``Rejection``."""
        raise NotImplementedError

    def describe(self, raw: Any) -> dict[str, Any]:
        """The envelope's ``record`` section: where the record came from."""
        raise NotImplementedError

    def item_identifier(self, raw: Any) -> str | None:
        """The id Lambda expects in ``batchItemFailures``; None when the record has none."""
        raise NotImplementedError

    def raw_payload(self, raw: Any) -> bytes:
        """The bytes to quarantine."""
        raise NotImplementedError

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


def section(raw: object, key: str) -> dict[str, Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def get(raw: object, key: str) -> object:
    return raw.get(key) if isinstance(raw, dict) else None
