"""Keys: a record's identity, an SQS FIFO deduplication id, or the user's value, under a namespace."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from shardsafe import ConfigurationError, Idempotency, MemoryIdempotencyStore
from shardsafe.core.idempotency.keys import KeyMaker, deduplication_value, identity_value
from shardsafe.core.sources import SOURCES, by_name
from tests import factories

SOURCE = by_name(SOURCES)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            factories.kinesis_record({"n": 1}, sequence=3),
            f"{factories.STREAM_ARN}|{factories.SHARD_ID}|{factories.FIRST_SEQUENCE + 3}",
        ),
        (
            factories.dynamodb_record(index=2),
            f"{factories.TABLE_STREAM_ARN}|c4ca4238a0b923820dcc509a6f758492",
        ),
        (factories.sqs_record(index=4), f"{factories.QUEUE_ARN}|059f36b4-87a3-44ab-83d2-000000000004"),
    ],
    ids=["kinesis", "dynamodb", "sqs"],
)
def test_the_identity_key_is_the_records_identity(raw: dict[str, Any], expected: str) -> None:
    assert identity_value(SOURCE[raw["eventSource"]], raw) == expected
    assert KeyMaker("orders", None)(identity_value(SOURCE[raw["eventSource"]], raw)) == f"orders#{expected}"


def test_a_record_without_its_identity_has_no_key() -> None:
    raw = factories.sqs_record()
    del raw["messageId"]
    assert KeyMaker("orders", None)(identity_value(SOURCE["aws:sqs"], raw)) is None


def test_the_deduplication_key_is_queue_group_and_id() -> None:
    raw = factories.sqs_record(fifo=True, group="g1")
    raw["attributes"]["MessageDeduplicationId"] = "d-1"
    assert deduplication_value(SOURCE["aws:sqs"], raw) == f"{factories.FIFO_QUEUE_ARN}|g1|d-1"
    assert deduplication_value(SOURCE["aws:sqs"], factories.sqs_record()) is None


def test_a_hashed_key_is_the_id_powertools_writes_for_the_same_value_and_prefix() -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    layer = DynamoDBPersistenceLayer(table_name="t", boto3_client=_NoClient())
    layer.configure(IdempotencyConfig(event_key_jmespath="task_id"), key_prefix="jobs")
    for value in ("A-1", 42, {"b": 1, "a": [1, 2]}, "ünïcode"):
        expected = layer._get_hashed_idempotency_key({"task_id": value})
        assert KeyMaker("jobs", "md5")(value) == expected


def test_an_unhashed_value_that_is_not_a_string_is_its_json() -> None:
    assert KeyMaker("n", None)({"b": 1, "a": 2}) == 'n#{"a":2,"b":1}'
    assert KeyMaker("n", None)(7) == "n#7"
    assert KeyMaker("n", "sha256")("x") == "n#" + hashlib.sha256(json.dumps("x").encode()).hexdigest()


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_value_is_no_key(empty: object) -> None:
    assert KeyMaker("n", None)(empty) is None
    assert KeyMaker("n", "md5")(empty) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"key": "message_id"}, "Idempotency(key='message_id') must be one of"),
        ({"hash": "md4-ish"}, "Idempotency(hash='md4-ish') is not a hash every Python has"),
        ({"hash": 3}, "Idempotency(hash=3) must be True, False or a hashlib name"),
        ({"expires_after": 0}, "Idempotency(expires_after=0) must be a whole number of seconds"),
        ({"expires_after": 1.5}, "Idempotency(expires_after=1.5)"),
        ({"namespace": ""}, "Idempotency(namespace='') must be a non-empty string"),
    ],
)
def test_a_wrong_option_is_refused_naming_it(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        Idempotency(MemoryIdempotencyStore(), **options)


def test_a_store_that_is_not_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be an IdempotencyStore"):
        Idempotency(object())  # type: ignore[arg-type]


def test_without_a_table_every_record_is_handed_back_with_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, log_lines: Any
) -> None:
    """Importing a handler that builds Idempotency() works without the table (a packager's import check,
    a test); a batch then has no record handled unclaimed: each goes back, the error saying what to set."""
    from shardsafe import MemoryQuarantine, StreamProcessor

    monkeypatch.delenv("SHARDSAFE_IDEMPOTENCY_TABLE", raising=False)
    handled: list[object] = []
    processor = StreamProcessor(
        handled.append, idempotency=Idempotency(), quarantine=MemoryQuarantine(), metrics=False, tracing=False
    )
    event = factories.sqs_event([{"n": 0}, {"n": 1}])

    result = processor.process(event, factories.FakeContext())

    assert handled == [] and result.counts().handed_back == 2
    (line,) = [line for line in log_lines() if line["event"] == "shardsafe.retryable"]
    assert "set SHARDSAFE_IDEMPOTENCY_TABLE" in line["error_message"]


def test_the_default_store_is_the_table_of_the_environment_and_the_namespace_the_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHARDSAFE_IDEMPOTENCY_TABLE", "orders-idempotency")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    idempotency = Idempotency()
    assert idempotency.store.table_name == "orders-idempotency"  # type: ignore[attr-defined]
    assert idempotency.namespace == "orders"


class _NoClient:
    """Powertools registers a user agent on its client; nothing is called here."""

    class meta:
        class events:
            @staticmethod
            def register(*args: Any, **kwargs: Any) -> None:
                return None
