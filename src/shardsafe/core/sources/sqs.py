"""SQS, standard and FIFO: the body is the payload; the message id reports a failure.

What Lambda must retry when a message is handed back depends on the queue
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html, "Implementing
partial batch responses"):

- a standard queue has no order: only that message is reported, and the batch goes on;
- a FIFO queue (its ARN ends in ``.fifo``) keeps order within a message group. AWS's rule is to
  stop at the first failure and report it and every later message of the batch
  (``fifo_scope="batch"``, the default). With ``fifo_scope="group"`` only the later messages of the
  same message group are reported with it, and the other groups go on.
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.records import DataT, Record, json_bytes
from shardsafe.core.sources.base import Source, float_or_none, get, section, str_or_none

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

SQS = "aws:sqs"
FIFO_SCOPES = ("batch", "group")


class SqsRecord(Record[DataT]):
    """An SQS message: ``data`` is its decoded body."""

    __slots__ = ()

    @property
    def message_id(self) -> str | None:
        """The message id (what ``batchItemFailures`` reports)."""
        return str_or_none(get(self._raw, "messageId"))

    @property
    def message_group_id(self) -> str | None:
        """A FIFO queue's message group; None for a standard queue."""
        return message_group(self._raw)

    @property
    def sequence_number(self) -> str | None:
        """A FIFO queue's sequence number; None for a standard queue."""
        return str_or_none(section(self._raw, "attributes").get("SequenceNumber"))

    @property
    def sent_timestamp(self) -> float | None:
        """Seconds since the epoch when the message was sent."""
        sent_ms = float_or_none(section(self._raw, "attributes").get("SentTimestamp"))
        return None if sent_ms is None else sent_ms / 1000.0

    @property
    def is_fifo(self) -> bool:
        """Whether the message came from a FIFO queue."""
        return is_fifo(self._raw)


def is_fifo(raw: object) -> bool:
    """Whether the message came from a FIFO queue: its queue ARN ends in ``.fifo``."""
    arn = get(raw, "eventSourceARN")
    return isinstance(arn, str) and arn.endswith(".fifo")


def message_group(raw: object) -> str | None:
    return str_or_none(section(raw, "attributes").get("MessageGroupId"))


class SqsSource(Source):
    __slots__ = ()
    name = SQS
    record_class = SqsRecord
    carries_pointers = True

    def extract(self, raw: Any) -> bytes:
        try:
            body = raw["body"]
        except (KeyError, TypeError, IndexError):
            raise Rejection(reasons.MALFORMED_RECORD, "record has no body") from None
        if type(body) is not str:
            raise Rejection(reasons.MALFORMED_RECORD, f"body is a {type(body).__name__}, not a string")
        return body.encode("utf-8", "surrogatepass")

    def describe(self, raw: Any) -> dict[str, Any]:
        attributes = section(raw, "attributes")
        sent_ms = float_or_none(attributes.get("SentTimestamp"))
        return {
            "eventSource": SQS,
            "eventSourceArn": str_or_none(get(raw, "eventSourceARN")),
            "shardId": None,
            "sequenceNumber": str_or_none(attributes.get("SequenceNumber")),
            "partitionKey": str_or_none(attributes.get("MessageGroupId")),
            "approximateArrivalTimestamp": None if sent_ms is None else sent_ms / 1000.0,
            "messageId": str_or_none(get(raw, "messageId")),
        }

    def item_identifier(self, raw: Any) -> str | None:
        return str_or_none(get(raw, "messageId"))

    def identity(self, raw: Any) -> tuple[str, ...] | None:
        arn, message_id = str_or_none(get(raw, "eventSourceARN")), str_or_none(get(raw, "messageId"))
        return (arn, message_id) if arn and message_id else None

    def raw_payload(self, raw: Any) -> bytes:
        body = get(raw, "body")
        return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else json_bytes(raw)

    def message_attribute(self, raw: Any, name: str) -> str | None:
        attribute = section(raw, "messageAttributes").get(name)
        return str_or_none(attribute.get("stringValue")) if isinstance(attribute, dict) else None

    def hand_back(self, records: Sequence[Any], index: int, *, fifo_scope: str) -> Sequence[int]:
        if not is_fifo(records[index]):
            return (index,)
        if fifo_scope == "group":
            group = message_group(records[index])
            return [index] + [
                later for later in range(index + 1, len(records)) if message_group(records[later]) == group
            ]
        return range(index, len(records))


SqsRecord.source = SqsSource()
