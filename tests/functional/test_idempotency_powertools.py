"""One table for Powertools' idempotency utility and shardsafe's: each reads what the other wrote.

A function moving from Powertools' ``idempotent_function`` to shardsafe (or running both) keeps its
table: ``Idempotency(key=..., hash=True, namespace=<Powertools' key_prefix>)`` makes the ids Powertools
makes, and both use its layout (``id``, ``status``, ``expiration``, ``in_progress_expiration``, ``data``).
Powertools runs here as its documentation shows it, on DynamoDB as moto serves it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shardsafe import DynamoDBIdempotencyStore, Idempotency, MemoryQuarantine, StreamProcessor
from tests import factories
from tests.idempotency_support import create_table

PREFIX = "jobs"


@pytest.fixture
def table(dynamodb: Any) -> str:
    return create_table(dynamodb, "shared-idempotency")


def powertools_function(client: Any, table: str, calls: list[str]) -> Any:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    layer = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="task_id")
    config.register_lambda_context(factories.FakeContext())  # as its docs say, for the in-progress expiry

    @idempotent_function(
        data_keyword_argument="task", persistence_store=layer, config=config, key_prefix=PREFIX
    )
    def run_task(task: dict[str, Any]) -> dict[str, Any]:
        calls.append(task["task_id"])
        return {"done": task["task_id"]}

    return run_task


def shardsafe_processor(client: Any, table: str, calls: list[str]) -> StreamProcessor:
    def handle(record: Any) -> dict[str, Any]:
        calls.append(record.data["task_id"])
        return {"done": record.data["task_id"]}

    return StreamProcessor(
        handle,
        idempotency=Idempotency(
            DynamoDBIdempotencyStore(table, client=client),
            key=lambda record: record.data["task_id"],
            hash=True,
            namespace=PREFIX,
            store_results=True,
        ),
        quarantine=MemoryQuarantine(),
        metrics=False,
        tracing=False,
    )


def test_a_task_powertools_completed_is_skipped_by_shardsafe_with_its_result(
    dynamodb: Any, table: str
) -> None:
    calls: list[str] = []
    powertools_function(dynamodb, table, calls)(task={"task_id": "A-1"})
    result = shardsafe_processor(dynamodb, table, calls).process(
        factories.sqs_event([{"task_id": "A-1"}]), factories.FakeContext()
    )
    assert calls == ["A-1"]
    [(_, skipped)] = result.skipped
    assert skipped.result == {"done": "A-1"}


def test_a_task_shardsafe_completed_is_not_run_again_by_powertools(dynamodb: Any, table: str) -> None:
    calls: list[str] = []
    shardsafe_processor(dynamodb, table, calls).process(
        factories.sqs_event([{"task_id": "B-2"}]), factories.FakeContext()
    )
    answer = powertools_function(dynamodb, table, calls)(task={"task_id": "B-2"})
    assert calls == ["B-2"]
    assert answer == {"done": "B-2"}


def test_both_write_the_same_item_for_the_same_task(dynamodb: Any, table: str) -> None:
    powertools_function(dynamodb, table, [])(task={"task_id": "C-3"})
    shardsafe_processor(dynamodb, table, []).process(
        factories.sqs_event([{"task_id": "D-4"}]), factories.FakeContext()
    )
    items = {item["id"]["S"]: item for item in dynamodb.scan(TableName=table)["Items"]}
    assert len(items) == 2 and all(
        key.startswith(f"{PREFIX}#") and len(key) == len(PREFIX) + 33 for key in items
    )
    # Powertools' completed item keeps the in-progress expiry of its claim (an UpdateItem); ours is a
    # new item without it: neither reader looks at that attribute once the status is COMPLETED.
    for item in items.values():
        assert (
            {"id", "status", "expiration", "data"}
            <= set(item)
            <= {"id", "status", "expiration", "data", "in_progress_expiration"}
        )
    assert {item["status"]["S"] for item in items.values()} == {"COMPLETED"}
    assert {json.loads(item["data"]["S"])["done"] for item in items.values()} == {"C-3", "D-4"}


def test_a_task_shardsafe_is_handling_is_in_progress_for_powertools(dynamodb: Any, table: str) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    calls: list[str] = []
    seen: list[BaseException] = []
    run_task = powertools_function(dynamodb, table, calls)

    def handle(record: Any) -> None:
        try:
            run_task(task={"task_id": record.data["task_id"]})
        except IdempotencyAlreadyInProgressError as error:
            seen.append(error)

    StreamProcessor(
        handle,
        idempotency=Idempotency(
            DynamoDBIdempotencyStore(table, client=dynamodb),
            key=lambda record: record.data["task_id"],
            hash=True,
            namespace=PREFIX,
        ),
        quarantine=MemoryQuarantine(),
        metrics=False,
        tracing=False,
    ).process(factories.sqs_event([{"task_id": "E-5"}]), factories.FakeContext())
    assert calls == [] and len(seen) == 1
