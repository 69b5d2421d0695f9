"""What the idempotency tests share: the stores (in memory, and DynamoDB as moto serves it in process),
a store that fails on cue, a clock the test moves, and a handler that counts its calls by identity."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shardsafe import Idempotency, MemoryIdempotencyStore, MemoryQuarantine, Record, StreamProcessor
from shardsafe.core.idempotency.store import ClaimResult, Held, IdempotencyStore

TABLE = "shardsafe-idempotency-test"
_tables = itertools.count()


def create_table(client: Any, name: str = TABLE) -> str:
    """Powertools' layout: partition key ``id`` (a string)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A DynamoDB client on moto's in-process DynamoDB (the one the embedded LocalStack serves)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )


def dynamodb_store(client: Any) -> IdempotencyStore:
    from shardsafe import DynamoDBIdempotencyStore

    return DynamoDBIdempotencyStore(create_table(client, f"{TABLE}-{next(_tables)}"), client=client)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> IdempotencyStore:
    """Each store, with the same behaviour expected of both."""
    if request.param == "memory":
        return MemoryIdempotencyStore()
    return dynamodb_store(request.getfixturevalue("dynamodb"))


class Clock:
    """Wall time the test moves; ``sleep`` moves it (the stage's waits take no real time)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Handler:
    """A record handler that counts its calls by the record's identity and can fail on cue."""

    def __init__(self, fail: dict[int, BaseException] | None = None) -> None:
        self.calls: Counter[tuple[str, ...]] = Counter()
        self.fail = fail or {}

    def __call__(self, record: Record) -> Any:
        identity = record.identity
        assert identity is not None
        self.calls[identity] += 1
        error = self.fail.get(record.data.get("n", -1)) if isinstance(record.data, dict) else None
        if error is not None:
            raise error
        return {"seen": record.data.get("n") if isinstance(record.data, dict) else None}


def processor(
    handler: Callable[[Record], Any] | None,
    store: IdempotencyStore,
    clock: Clock | None = None,
    **options: Any,
) -> StreamProcessor:
    """A processor with idempotency on ``store``, in-memory quarantine, no metrics or tracing."""
    idempotency_options = {
        name: options.pop(name)
        for name in ("key", "hash", "namespace", "expires_after", "store_results", "wait")
        if name in options
    }
    idempotency_options.setdefault("namespace", "test")
    built = StreamProcessor(
        handler,
        idempotency=Idempotency(store, **idempotency_options),
        quarantine=options.pop("quarantine", MemoryQuarantine()),
        metrics=options.pop("metrics", False),
        tracing=False,
        **options,
    )
    if clock is not None:
        stage = built._idempotency
        assert stage is not None
        stage.clock = clock.time
        stage.sleep = clock.sleep
    return built


class FailingStore(IdempotencyStore):
    """Another store, whose calls named in ``fail`` fail with that error (an outage, a throttle)."""

    def __init__(self, inner: IdempotencyStore) -> None:
        self.inner = inner
        self.fail: dict[str, BaseException] = {}
        self.calls: Counter[str] = Counter()

    def claim(self, keys: Any, **times: Any) -> ClaimResult:
        self.calls["claim"] += 1
        if "claim" in self.fail:
            result = ClaimResult()
            result.failed = dict.fromkeys(keys, self.fail["claim"])
            return result
        return self.inner.claim(keys, **times)

    def peek(self, keys: Any, *, now_ms: int) -> tuple[dict[str, Held], dict[str, BaseException]]:
        self.calls["peek"] += 1
        if "peek" in self.fail:
            return {}, dict.fromkeys(keys, self.fail["peek"])
        return self.inner.peek(keys, now_ms=now_ms)

    def complete(self, entries: Any, *, expires_at: int) -> dict[str, BaseException]:
        self.calls["complete"] += 1
        if "complete" in self.fail:
            return {key: self.fail["complete"] for key, _ in entries}
        return self.inner.complete(entries, expires_at=expires_at)

    def release(self, keys: Any) -> dict[str, BaseException]:
        self.calls["release"] += 1
        if "release" in self.fail:
            return dict.fromkeys(keys, self.fail["release"])
        return self.inner.release(keys)
