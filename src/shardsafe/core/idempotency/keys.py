"""A record's idempotency key: what names the work it stands for, the same on every delivery.

- ``"identity"`` (the default): the record's identity across deliveries
  (:meth:`~shardsafe.core.sources.base.Source.identity`): a Kinesis record's stream ARN, shard and
  sequence number (and a KPL user record's sub-sequence number), a DynamoDB stream record's stream ARN
  and event id, an SQS message's queue ARN and message id. Lambda's retries, bisections and
  partial-batch hand-backs deliver the same identity again; a producer that sends the same thing twice
  makes two identities.
- ``"deduplication_id"``: an SQS FIFO message's queue ARN, message group and
  ``MessageDeduplicationId``, so a message the producer sent again after SQS's five-minute
  deduplication interval is still recognised (the group is part of the key: with deduplication
  scoped to the message group, one id in two groups is two messages).
- a callable, ``key(record) -> value``, called with the decoded and validated
  :class:`~shardsafe.Record`: a key from the payload (``lambda record: record.data["task_id"]``), for
  work that producers may send more than once. A string is used as it is, anything else as its JSON.

Every key is prefixed with the namespace (``<namespace>#<key>``), by default the function's name, so
two functions reading one stream each act on every record. ``hash=True`` replaces the key by its MD5
hex digest, computed as Powertools computes it (``md5(json.dumps(value, sort_keys=True))``), so that
``namespace="<Powertools' key prefix>"`` and the same value give the ids Powertools writes: a function
moving from Powertools' ``idempotent_function`` to shardsafe keeps its table.
"""

from __future__ import annotations

import json

from shardsafe.core.errors import ConfigurationError
from shardsafe.core.sources.base import get, section, str_or_none

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.records import Record
    from shardsafe.core.sources.base import Source

    KeyFunction = Callable[[Record], object]

IDENTITY = "identity"
DEDUPLICATION_ID = "deduplication_id"
KINDS = (IDENTITY, DEDUPLICATION_ID)


def identity_value(source: Source, raw: Any) -> object:
    """The record's identity joined with ``|`` (which no ARN, shard id, sequence number or message
    id contains); None when the record has none."""
    identity = source.identity(raw)
    return "|".join(identity) if identity else None


def deduplication_value(source: Source, raw: Any) -> object:
    """``<queue ARN>|<message group>|<MessageDeduplicationId>`` of an SQS FIFO message; None otherwise."""
    attributes = section(raw, "attributes")
    arn = str_or_none(get(raw, "eventSourceARN"))
    group = str_or_none(attributes.get("MessageGroupId"))
    deduplication_id = str_or_none(attributes.get("MessageDeduplicationId"))
    if not (arn and group and deduplication_id):
        return None
    return f"{arn}|{group}|{deduplication_id}"


def missing_key_message(kind: str | None) -> str:
    """Why a record has no key, and what to do."""
    if kind == IDENTITY:
        return "the record has no identity (event source ARN and sequence number or message id) to key on"
    if kind == DEDUPLICATION_ID:
        return (
            "the record has no MessageDeduplicationId (with its queue ARN and message group): "
            "key='deduplication_id' is for SQS FIFO queues; use the default key='identity' for others"
        )
    return "the idempotency key function returned nothing (None or an empty string)"


class KeyMaker:
    """Turns a key's value into the store's key: namespace, then the value (or its digest)."""

    __slots__ = ("_digest", "prefix")

    def __init__(self, namespace: str, hash_name: str | None) -> None:
        self.prefix = namespace + "#"
        self._digest: Callable[[bytes], Any] | None = None
        if hash_name is not None:
            import hashlib  # only when keys are hashed: hashlib is not on the clean path

            if hash_name not in hashlib.algorithms_guaranteed:
                raise ConfigurationError(
                    f"Idempotency(hash={hash_name!r}) is not a hash every Python has: use True (md5, "
                    f"as Powertools) or one of {sorted(hashlib.algorithms_guaranteed)}"
                )
            self._digest = getattr(hashlib, hash_name)

    def __call__(self, value: object) -> str | None:
        """The key for ``value``; None when there is no value to key on."""
        if value is None or value == "":
            return None
        if self._digest is not None:
            # Powertools' _generate_hash: json.dumps(data, sort_keys=True), default separators, ASCII.
            text = json.dumps(value, sort_keys=True, default=str)
            digest: str = self._digest(text.encode()).hexdigest()
            return self.prefix + digest
        if type(value) is str:
            return self.prefix + value
        return self.prefix + json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
