"""The DynamoDB idempotency store: Powertools' table layout, and as few calls per batch as the API allows.

Per batch (see :mod:`shardsafe.core.idempotency.store` for the layout and what each call is for):

- **claim**: ``TransactWriteItems`` of up to 100 conditional ``Put`` actions, each claiming a key if it
  is free (Powertools' condition: no entry, an expired one, or a claim past its in-progress expiry),
  with ``ReturnValuesOnConditionCheckFailure=ALL_OLD``. A fresh batch of 100 is claimed in one call.
  A transaction is all or nothing: if some keys are held, DynamoDB cancels it and its
  ``CancellationReasons`` give each held key's entry (so no read is needed to tell a completed key from
  a claim), and the keys that were free are claimed again in one more call. A lone key is claimed with a
  conditional ``PutItem`` (one write unit, not a transaction's two). Why not ``BatchGetItem`` first:
  it is a call more for every fresh batch, the common case, and a read does not claim anything, so the
  claims would still need conditional writes. Why not a conditional ``PutItem`` per record: one round
  trip per record (Powertools' way) instead of one per hundred, at half the write units.
- **peek** (only while waiting for a claim held elsewhere to end): ``BatchGetItem``, consistent reads,
  100 keys a call.
- **complete**: one key with ``PutItem``; several (a batch handler's records) with ``BatchWriteItem``,
  25 a call, unprocessed items sent again.
- **release**: ``BatchWriteItem`` deletes, 25 a call. Unconditional: a claim of this invocation cannot
  have been taken over while the invocation runs, since it lasts until the invocation's end.

IAM: ``dynamodb:PutItem`` (``TransactWriteItems`` is authorized by the actions it groups:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
``dynamodb:BatchWriteItem`` and ``dynamodb:BatchGetItem`` on the table.

boto3 is imported when the first batch calls the store, not when this module is.
"""

from __future__ import annotations

import os
import random
import time

from shardsafe.core.errors import ConfigurationError
from shardsafe.core.idempotency.store import (
    COMPLETED,
    IN_PROGRESS,
    ClaimResult,
    Held,
    IdempotencyStore,
    Layout,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any

__all__ = ["TABLE_ENV", "DynamoDBIdempotencyStore"]

#: The table's name; the Terraform module sets it (``idempotency_table``).
TABLE_ENV = "SHARDSAFE_IDEMPOTENCY_TABLE"
TRANSACTION_ITEMS = 100  # TransactWriteItems: "groups up to 100 action requests"
GET_ITEMS = 100  # BatchGetItem: up to 100 items
WRITE_ITEMS = 25  # BatchWriteItem: up to 25 put or delete requests
#: Sends of a batch call's unprocessed items (throttled) before they count as failed.
UNPROCESSED_ATTEMPTS = 4
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0

# Powertools' _put_record condition, attribute for attribute.
_FREE = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
)


class DynamoDBIdempotencyStore(IdempotencyStore):
    """Keys in a DynamoDB table with Powertools' idempotency layout (partition key ``id``, a string;
    time to live on ``expiration``).

    :param table_name: default ``SHARDSAFE_IDEMPOTENCY_TABLE`` (the module's ``idempotency_table``),
        read when the store is first used: a function whose table is not set hands every record back,
        each with the error that says so, rather than fail to import (or handle a record unclaimed).
    :param client: a boto3 DynamoDB client; default one made on first use (1 s to connect, 2 s to
        read, botocore's standard retries).
    :param key_attr, expiry_attr, in_progress_expiry_attr, status_attr, data_attr: the attribute
        names, Powertools' ``DynamoDBPersistenceLayer`` parameters and defaults.
    """

    __slots__ = ("_client", "_table_name", "calls", "layout")

    def __init__(
        self,
        table_name: str | None = None,
        *,
        client: Any = None,
        key_attr: str = "id",
        expiry_attr: str = "expiration",
        in_progress_expiry_attr: str = "in_progress_expiration",
        status_attr: str = "status",
        data_attr: str = "data",
    ) -> None:
        self._table_name = table_name
        self.layout = Layout(
            key_attr=key_attr,
            expiry_attr=expiry_attr,
            in_progress_expiry_attr=in_progress_expiry_attr,
            status_attr=status_attr,
            data_attr=data_attr,
        )
        self._client = client
        #: The API calls made, by name (what the benchmarks and tests count).
        self.calls: dict[str, int] = {}

    # --- the table and the client ---

    @property
    def table_name(self) -> str:
        """The table's name; ConfigurationError naming the variable when there is none."""
        name = self._table_name or os.environ.get(TABLE_ENV, "").strip()
        if not name:
            raise ConfigurationError(
                f"the idempotency store has no table: set {TABLE_ENV} (the Terraform module's "
                "idempotency_table = { create = true } sets it) or pass DynamoDBIdempotencyStore(table_name=...)"
            )
        return name

    def client(self) -> Any:
        if self._client is None:
            import boto3  # type: ignore[import-untyped]  # lazy: importing shardsafe never loads boto3
            from botocore.config import Config  # type: ignore[import-untyped]

            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
            self._client = boto3.client("dynamodb", region_name=region, config=config)
        return self._client

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    # --- claim ---

    def claim(
        self, keys: Sequence[str], *, now_ms: int, expires_at: int, in_progress_until_ms: int
    ) -> ClaimResult:
        result = ClaimResult()
        try:
            table = self.table_name
        except ConfigurationError as error:
            result.failed = dict.fromkeys(keys, error)
            return result
        layout = self.layout
        names = {
            "#id": layout.key_attr,
            "#expiry": layout.expiry_attr,
            "#in_progress_expiry": layout.in_progress_expiry_attr,
            "#status": layout.status_attr,
        }
        values = {
            ":now": {"N": str(now_ms // 1000)},
            ":now_in_millis": {"N": str(now_ms)},
            ":inprogress": {"S": IN_PROGRESS},
        }

        def put(key: str) -> dict[str, Any]:
            return {
                "TableName": table,
                "Item": {
                    layout.key_attr: {"S": key},
                    layout.status_attr: {"S": IN_PROGRESS},
                    layout.expiry_attr: {"N": str(expires_at)},
                    layout.in_progress_expiry_attr: {"N": str(in_progress_until_ms)},
                },
                "ConditionExpression": _FREE,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }

        for chunk in _chunks(list(keys), TRANSACTION_ITEMS):
            todo = chunk
            while todo:  # each round claims todo, or takes at least one key out of it
                if len(todo) == 1:
                    self._claim_one(todo[0], put(todo[0]), result)
                    break
                todo = self._claim_many(todo, [{"Put": put(key)} for key in todo], result)
        return result

    def _claim_one(self, key: str, request: dict[str, Any], result: ClaimResult) -> None:
        self._count("PutItem")
        try:
            self.client().put_item(**request)
        except Exception as error:
            if _code(error) == "ConditionalCheckFailedException":
                result.held[key] = self._held(_response(error).get("Item"))
            else:
                result.failed[key] = error
        else:
            result.claimed.append(key)

    def _claim_many(self, keys: list[str], actions: list[dict[str, Any]], result: ClaimResult) -> list[str]:
        """One transaction; the keys to try again (those that were free when another one was not)."""
        self._count("TransactWriteItems")
        try:
            self.client().transact_write_items(TransactItems=actions)
        except Exception as error:
            reasons = _response(error).get("CancellationReasons")
            if (
                _code(error) != "TransactionCanceledException"
                or not isinstance(reasons, list)
                or (len(reasons) != len(keys))
            ):
                for key in keys:
                    result.failed[key] = error
                return []
            again = []
            for key, reason in zip(keys, reasons, strict=True):
                code = reason.get("Code") if isinstance(reason, dict) else None
                if code in (None, "None"):  # this action would have succeeded
                    again.append(key)
                elif code == "ConditionalCheckFailed":
                    result.held[key] = self._held(reason.get("Item"))
                elif code == "TransactionConflict":  # another invocation is claiming it at this moment
                    result.held[key] = Held(IN_PROGRESS)
                else:  # throttled, a validation error: this key's claim failed
                    result.failed[key] = error
            return again
        result.claimed.extend(keys)
        return []

    def _held(self, item: object) -> Held:
        layout = self.layout
        if not isinstance(item, dict):  # the condition failed, so an entry exists: its state unknown
            return Held(IN_PROGRESS)
        status = _string(item.get(layout.status_attr)) or IN_PROGRESS
        until = _number(item.get(layout.in_progress_expiry_attr))
        return Held(
            status if status in (COMPLETED, IN_PROGRESS) else IN_PROGRESS,
            None if until is None else int(until),
            _string(item.get(layout.data_attr)),
        )

    # --- peek ---

    def peek(self, keys: Sequence[str], *, now_ms: int) -> tuple[dict[str, Held], dict[str, BaseException]]:
        layout = self.layout
        found: dict[str, Held] = {}
        failed: dict[str, BaseException] = {}
        try:
            table = self.table_name
        except ConfigurationError as error:
            return found, dict.fromkeys(keys, error)
        for chunk in _chunks(list(keys), GET_ITEMS):
            request: dict[str, Any] = {
                table: {
                    "Keys": [{layout.key_attr: {"S": key}} for key in chunk],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(UNPROCESSED_ATTEMPTS):
                self._count("BatchGetItem")
                try:
                    response = self.client().batch_get_item(RequestItems=request)
                except Exception as error:
                    failed.update(dict.fromkeys(_keys_of(request, table, layout.key_attr), error))
                    break
                for item in response.get("Responses", {}).get(table, []):
                    key = _string(item.get(layout.key_attr))
                    held = self._held(item)
                    expiration = _number(item.get(layout.expiry_attr))
                    if key is None or (expiration is not None and expiration < now_ms // 1000):
                        continue
                    if held.status == IN_PROGRESS and (
                        held.in_progress_until_ms is not None and held.in_progress_until_ms < now_ms
                    ):
                        continue
                    found[key] = held
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                _backoff(attempt)
            else:
                unread = RuntimeError("BatchGetItem left keys unprocessed (throttled)")
                failed.update(dict.fromkeys(_keys_of(request, table, layout.key_attr), unread))
        return found, failed

    # --- complete and release ---

    def complete(
        self, entries: Sequence[tuple[str, str | None]], *, expires_at: int
    ) -> dict[str, BaseException]:
        layout = self.layout
        items = []
        for key, data in entries:
            item = {
                layout.key_attr: {"S": key},
                layout.status_attr: {"S": COMPLETED},
                layout.expiry_attr: {"N": str(expires_at)},
            }
            if data is not None:
                item[layout.data_attr] = {"S": data}
            items.append(item)
        if len(items) == 1:
            self._count("PutItem")
            try:
                self.client().put_item(TableName=self.table_name, Item=items[0])
            except Exception as error:
                return {entries[0][0]: error}
            return {}
        return self._write([{"PutRequest": {"Item": item}} for item in items])

    def release(self, keys: Sequence[str]) -> dict[str, BaseException]:
        key_attr = self.layout.key_attr
        return self._write([{"DeleteRequest": {"Key": {key_attr: {"S": key}}}} for key in keys])

    def _write(self, requests: list[dict[str, Any]]) -> dict[str, BaseException]:
        """BatchWriteItem, 25 requests a call, unprocessed ones sent again with backoff."""
        failed: dict[str, BaseException] = {}
        key_attr = self.layout.key_attr
        try:
            table = self.table_name
        except ConfigurationError as error:
            return dict.fromkeys(_request_keys(requests, key_attr), error)
        for chunk in _chunks(requests, WRITE_ITEMS):
            todo = chunk
            for attempt in range(UNPROCESSED_ATTEMPTS):
                self._count("BatchWriteItem")
                try:
                    response = self.client().batch_write_item(RequestItems={table: todo})
                except Exception as error:
                    failed.update(dict.fromkeys(_request_keys(todo, key_attr), error))
                    todo = []
                    break
                todo = (response.get("UnprocessedItems") or {}).get(table) or []
                if not todo:
                    break
                _backoff(attempt)
            if todo:
                unwritten = RuntimeError("BatchWriteItem left items unprocessed (throttled)")
                failed.update(dict.fromkeys(_request_keys(todo, key_attr), unwritten))
        return failed


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not a secret


def _response(error: BaseException) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return response if isinstance(response, dict) else {}


def _code(error: BaseException) -> str | None:
    code = _response(error).get("Error", {}).get("Code")
    return code if isinstance(code, str) else None


def _string(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("S"), str):
        return str(value["S"])
    return None


def _number(value: object) -> float | None:
    if isinstance(value, dict) and isinstance(value.get("N"), str):
        try:
            return float(value["N"])
        except ValueError:
            return None
    return None


def _keys_of(request: dict[str, Any], table: str, key_attr: str) -> list[str]:
    keys = (request.get(table) or {}).get("Keys") or []
    return [key for key in (_string(item.get(key_attr)) for item in keys) if key is not None]


def _request_keys(requests: list[dict[str, Any]], key_attr: str) -> list[str]:
    found = []
    for request in requests:
        body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key") or {}
        key = _string(body.get(key_attr))
        if key is not None:
            found.append(key)
    return found
