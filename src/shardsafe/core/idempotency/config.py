"""``Idempotency``: what a processor's idempotency layer keys on, where it keeps keys, and for how long."""

from __future__ import annotations

import os

from shardsafe.core.errors import ConfigurationError
from shardsafe.core.idempotency.keys import KINDS, KeyMaker
from shardsafe.core.idempotency.store import IdempotencyStore

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable

    from shardsafe.core.records import Record

__all__ = ["DEFAULT_EXPIRES_AFTER", "Idempotency"]

#: How long a completed key is kept: a day, Kinesis' default retention. A record Lambda delivers again
#: after its key expired is acted on again, so keep it at least as long as the mapping may retry a
#: record (the module's maximum_record_age, 6 hours by default; an SQS queue's retention).
DEFAULT_EXPIRES_AFTER = 86_400


class Idempotency:
    """Make a processor act once on a record Lambda delivers more than once.

    ::

        from shardsafe import Idempotency, StreamProcessor

        processor = StreamProcessor(handle, idempotency=Idempotency())  # the table: SHARDSAFE_IDEMPOTENCY_TABLE

    Before each batch is handled, its records' keys are claimed in the store in one call (per 100
    records): a key completed by an earlier delivery is **skipped** (``Skipped``, counted as
    ``skipped``; the handler does not run), a key another invocation is working on is **handed back**
    (``HandBack.IN_PROGRESS``), and the rest are claimed until the invocation's end and handled. A
    record's key is marked completed as soon as it is handled (with a batch handler, when the batch
    handler returns), and the claims of records not handled are released at the end of the batch.

    :param store: where keys live; default :class:`~shardsafe.DynamoDBIdempotencyStore` on the table
        ``SHARDSAFE_IDEMPOTENCY_TABLE`` names (the Terraform module's ``idempotency_table``), or
        :class:`~shardsafe.MemoryIdempotencyStore`.
    :param key: ``"identity"`` (default: the record's identity across deliveries, see
        :mod:`shardsafe.core.idempotency.keys`), ``"deduplication_id"`` (an SQS FIFO message's
        deduplication id), or ``key(record) -> value``, called with the decoded, validated record.
    :param hash: hash each key (``True``: MD5 as Powertools does; or a :mod:`hashlib` name).
    :param namespace: what each key starts with; default the function's name
        (``AWS_LAMBDA_FUNCTION_NAME``), so two functions on one stream each act on every record.
    :param expires_after: seconds a completed key is kept (default a day).
    :param store_results: keep each handler's result (as JSON) and give it back on a skip
        (``Skipped.result``).
    :param wait: when a record is claimed by an invocation that has ended without finishing it (a crash),
        wait for the claim to expire if it does within half of the time left, instead of handing the
        record back at once (default True).
    """

    __slots__ = (
        "expires_after",
        "hash_name",
        "key",
        "key_maker",
        "namespace",
        "store",
        "store_results",
        "wait",
    )

    def __init__(
        self,
        store: IdempotencyStore | None = None,
        *,
        key: str | Callable[[Record], object] = "identity",
        hash: bool | str = False,
        namespace: str | None = None,
        expires_after: int = DEFAULT_EXPIRES_AFTER,
        store_results: bool = False,
        wait: bool = True,
    ) -> None:
        if store is None:
            from shardsafe.core.idempotency.dynamodb import DynamoDBIdempotencyStore

            store = DynamoDBIdempotencyStore()
        elif not isinstance(store, IdempotencyStore):
            raise ConfigurationError(
                f"Idempotency(store=...) must be an IdempotencyStore (DynamoDBIdempotencyStore, "
                f"MemoryIdempotencyStore), got {type(store).__name__}"
            )
        if not (callable(key) or key in KINDS):
            raise ConfigurationError(
                f"Idempotency(key={key!r}) must be one of {list(KINDS)} or a function of the record"
            )
        if isinstance(expires_after, bool) or not isinstance(expires_after, int) or expires_after < 1:
            raise ConfigurationError(
                f"Idempotency(expires_after={expires_after!r}) must be a whole number of seconds, 1 or more"
            )
        name = (os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "shardsafe") if namespace is None else namespace
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"Idempotency(namespace={namespace!r}) must be a non-empty string")
        if hash is True:
            hash_name: str | None = "md5"
        elif hash is False:
            hash_name = None
        elif isinstance(hash, str):
            hash_name = hash
        else:
            raise ConfigurationError(f"Idempotency(hash={hash!r}) must be True, False or a hashlib name")
        self.store = store
        self.key = key
        self.hash_name = hash_name
        self.namespace = name
        self.key_maker = KeyMaker(name, hash_name)
        self.expires_after = expires_after
        self.store_results = store_results
        self.wait = wait

    def __repr__(self) -> str:
        key = self.key if isinstance(self.key, str) else getattr(self.key, "__qualname__", "function")
        return f"<Idempotency key={key} namespace={self.namespace!r} store={type(self.store).__name__}>"
