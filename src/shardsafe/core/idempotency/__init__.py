"""Idempotency: a record Lambda delivers more than once is acted on once.

Lambda delivers stream and queue records at least once: a crash, a timeout, a bisected batch, a
partial-batch hand-back and an SQS message delivered twice all bring records back that the function
may have acted on. ``StreamProcessor(handle, idempotency=Idempotency())`` keys each record
(:mod:`~shardsafe.core.idempotency.keys`), claims the batch's keys in a store before it is handled
(:mod:`~shardsafe.core.idempotency.stage`), skips the records done before and hands back those another
invocation is working on. Stores: :class:`DynamoDBIdempotencyStore` (Powertools' table layout,
:mod:`~shardsafe.core.idempotency.store`) and :class:`MemoryIdempotencyStore`.

    from shardsafe import Idempotency, StreamProcessor

    processor = StreamProcessor(handle, idempotency=Idempotency())                  # the record's identity
    processor = StreamProcessor(handle, idempotency=Idempotency(key=lambda r: r.data["task_id"]))
"""

from __future__ import annotations

from shardsafe.core.idempotency.config import Idempotency
from shardsafe.core.idempotency.memory import MemoryIdempotencyStore
from shardsafe.core.idempotency.store import ClaimResult, Held, IdempotencyStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shardsafe.core.idempotency.dynamodb import DynamoDBIdempotencyStore

__all__ = [
    "ClaimResult",
    "DynamoDBIdempotencyStore",
    "Held",
    "Idempotency",
    "IdempotencyStore",
    "MemoryIdempotencyStore",
]


def __getattr__(name: str) -> object:
    if name == "DynamoDBIdempotencyStore":
        from shardsafe.core.idempotency.dynamodb import DynamoDBIdempotencyStore

        return DynamoDBIdempotencyStore
    raise AttributeError(f"module 'shardsafe.core.idempotency' has no attribute {name!r}")
