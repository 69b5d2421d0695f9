"""DynamoDB transactions on moto without copying whole tables: the same answers, in time independent of
the table's size.

moto 5's ``DynamoDBBackend.transact_write_items`` deep-copies every table a transaction names before it
starts, so that it can put the copy back if the transaction is cancelled. The cost grows with the table,
not the transaction: measured on the embedded LocalStack, one ``TransactWriteItems`` of 100 conditional
puts took 35 ms on an empty table, 544 ms on a table of 100 items and 22.8 s on one of 2,000, while 100
``PutItem`` calls took 0.3-0.4 s on each. A table that grows (an idempotency table, which claims each
batch's keys in one transaction: shardsafe.core.idempotency) soon makes every batch time out.

This module replaces that method, in memory, with one that keeps what a transaction changes instead:
before its first write to an item, the item as it was (or that there was none) and the length of the
table's stream; a cancelled transaction puts those items back and drops the stream records it added, as
the copy did. Everything else is moto's own logic, action for action: the 100-action limit, one action
per item, ``ConditionCheck``/``Put``/``Delete``/``Update`` with their conditions, and the cancellation
reasons with ``ReturnValuesOnConditionCheckFailure=ALL_OLD``
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html: "The actions
are completed atomically so that either all of them succeed, or all of them fail").

Switch: ``SHARDSAFE_LOCALSTACK_DYNAMODB_TRANSACTIONS`` in LocalStack's environment (on unless ``0``)
leaves moto's method as it is. Applied when the DynamoDB provider (``dynamodb``) is created.
"""

from __future__ import annotations

import copy
from typing import Any

from shardsafe_localstack.switches import switch

TRANSACTIONS_ENV = "SHARDSAFE_LOCALSTACK_DYNAMODB_TRANSACTIONS"
_ABSENT = object()
_applied: dict[str, Any] = {}


def apply() -> bool:
    """Replace moto's transact_write_items (once), unless the switch is off; whether it is replaced."""
    if not switch(TRANSACTIONS_ENV):
        return False
    from moto.dynamodb.models import DynamoDBBackend

    if "original" not in _applied:
        _applied["original"] = DynamoDBBackend.transact_write_items
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    return True


def restore() -> None:
    """Put moto's own method back (tests)."""
    from moto.dynamodb.models import DynamoDBBackend

    original = _applied.pop("original", None)
    if original is not None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


class _Undo:
    """What a transaction changed, to put back if it is cancelled: items as they were, stream lengths."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash value, range value, old item)
        self.seen: set[tuple[int, str]] = set()
        self.streams: dict[int, tuple[Any, int]] = {}

    def remember(self, table: Any, key: dict[str, Any]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        marker = (id(table), str(sorted(key.items())))
        if marker in self.seen:
            return
        self.seen.add(marker)
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        if range_value is None:
            old = table.items.get(hash_value, _ABSENT)
        else:
            old = table.items.get(hash_value, {}).get(range_value, _ABSENT)
        self.items.append(
            (table, hash_value, range_value, copy.deepcopy(old) if old is not _ABSENT else _ABSENT)
        )
        if table.stream_shard is not None and id(table) not in self.streams:
            self.streams[id(table)] = (table, len(table.stream_shard.items))

    def rollback(self) -> None:
        for table, hash_value, range_value, old in reversed(self.items):
            if range_value is None:
                if old is _ABSENT:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = old
            else:
                by_range = table.items[hash_value]
                if old is _ABSENT:
                    by_range.pop(range_value, None)
                    if not by_range:
                        table.items.pop(hash_value, None)
                else:
                    by_range[range_value] = old
        for table, length in self.streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's DynamoDBBackend.transact_write_items, with an undo log instead of copies of the tables."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(key))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition = get_filter_expression(condition_expression, names, values)
                if not condition.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                undo.remember(table, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.rollback()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))
        except Exception as error:
            errors.append((type(error).__name__, str(error), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)
