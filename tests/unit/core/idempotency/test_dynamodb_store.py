"""The DynamoDB store on DynamoDB as moto serves it (in process), with faults put in front of it:
how many calls a batch takes, and what each failed call leaves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shardsafe import DynamoDBIdempotencyStore
from shardsafe.core.idempotency.store import COMPLETED, IN_PROGRESS
from tests.idempotency_support import create_table

NOW_MS = 1_800_000_000_000
TIMES = {"now_ms": NOW_MS, "expires_at": NOW_MS // 1000 + 3600, "in_progress_until_ms": NOW_MS + 60_000}


class Faulty:
    """A client that passes calls to ``real`` unless ``faults[name]`` says otherwise for the next call:
    an exception to raise, or a function that makes the answer (given the real client and the request)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.faults: dict[str, list[BaseException | Callable[..., Any]]] = {}
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def call(**request: Any) -> Any:
            self.calls[name] += 1
            queue = self.faults.get(name)
            if queue:
                fault = queue.pop(0)
                if isinstance(fault, BaseException):
                    raise fault
                return fault(self.real, **request)
            return method(**request)

        return call


def client_error(code: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, **extra}, "Call")


@pytest.fixture
def client(dynamodb: Any) -> Faulty:
    return Faulty(dynamodb)


@pytest.fixture
def store(client: Faulty) -> DynamoDBIdempotencyStore:
    return DynamoDBIdempotencyStore(create_table(client.real, "store-test"), client=client)


def keys(count: int, prefix: str = "k") -> list[str]:
    return [f"ns#{prefix}{n}" for n in range(count)]


def item(store: DynamoDBIdempotencyStore, key: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        store.client()
        .real.get_item(TableName=store.table_name, Key={"id": {"S": key}}, ConsistentRead=True)
        .get("Item")
    )
    return found


# --- claim ---


def test_a_fresh_batch_is_claimed_in_one_transaction_per_hundred_keys(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    result = store.claim(keys(150), **TIMES)

    assert sorted(result.claimed) == sorted(keys(150)) and not result.held and not result.failed
    assert client.calls == {"transact_write_items": 2}
    claimed = item(store, "ns#k7")
    assert claimed == {
        "id": {"S": "ns#k7"},
        "status": {"S": IN_PROGRESS},
        "expiration": {"N": str(TIMES["expires_at"])},
        "in_progress_expiration": {"N": str(TIMES["in_progress_until_ms"])},
    }


def test_a_lone_key_is_claimed_with_a_conditional_put_not_a_transaction(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    assert store.claim(["ns#one"], **TIMES).claimed == ["ns#one"]
    held = store.claim(["ns#one"], **TIMES).held["ns#one"]
    assert (held.status, held.in_progress_until_ms) == (IN_PROGRESS, TIMES["in_progress_until_ms"])
    assert client.calls == {"put_item": 2}


def test_held_keys_are_told_apart_from_the_reasons_and_the_free_ones_claimed_in_one_more_call(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    store.claim(["ns#k1", "ns#k2"], **TIMES)
    store.complete([("ns#k1", '{"r": 1}')], expires_at=TIMES["expires_at"])
    client.calls.clear()

    result = store.claim(keys(5), **TIMES)

    assert sorted(result.claimed) == ["ns#k0", "ns#k3", "ns#k4"]
    assert {key: (held.status, held.data) for key, held in result.held.items()} == {
        "ns#k1": (COMPLETED, '{"r": 1}'),
        "ns#k2": (IN_PROGRESS, None),
    }
    assert client.calls == {"transact_write_items": 2}


def test_a_key_is_free_again_once_its_entry_expired_or_its_claim_ended(
    store: DynamoDBIdempotencyStore,
) -> None:
    store.claim(["ns#claimed"], **TIMES)
    store.complete([("ns#done", None)], expires_at=TIMES["expires_at"])
    later = {**TIMES, "now_ms": TIMES["in_progress_until_ms"] + 1}
    assert store.claim(["ns#claimed", "ns#done"], **later).held.keys() == {"ns#done"}
    much_later = {**TIMES, "now_ms": (TIMES["expires_at"] + 1) * 1000}
    assert store.claim(["ns#done"], **much_later).claimed == ["ns#done"]


def test_a_failed_transaction_fails_its_keys_only(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    client.faults["transact_write_items"] = [EndpointConnectionError(endpoint_url="https://dynamodb")]

    result = store.claim(keys(120), **TIMES)

    assert sorted(result.failed) == sorted(keys(100)[:100])
    assert sorted(result.claimed) == sorted(keys(120)[100:])


def test_a_key_throttled_inside_a_transaction_fails_and_the_others_are_claimed(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    reasons = [{"Code": "None"}, {"Code": "ThrottlingError", "Message": "slow down"}, {"Code": "None"}]
    client.faults["transact_write_items"] = [
        client_error("TransactionCanceledException", CancellationReasons=reasons)
    ]

    result = store.claim(keys(3), **TIMES)

    assert sorted(result.claimed) == ["ns#k0", "ns#k2"] and list(result.failed) == ["ns#k1"]
    assert item(store, "ns#k1") is None


def test_a_transaction_conflict_is_a_claim_in_progress_of_unknown_end(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    reasons = [{"Code": "TransactionConflict"}, {"Code": "None"}]
    client.faults["transact_write_items"] = [
        client_error("TransactionCanceledException", CancellationReasons=reasons)
    ]
    result = store.claim(keys(2), **TIMES)
    held = result.held["ns#k0"]
    assert (held.status, held.in_progress_until_ms) == (IN_PROGRESS, None)
    assert result.claimed == ["ns#k1"]


def test_a_cancellation_without_reasons_fails_every_key(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    client.faults["transact_write_items"] = [client_error("TransactionCanceledException")]
    assert sorted(store.claim(keys(2), **TIMES).failed) == keys(2)


def test_a_lone_key_that_cannot_be_written_fails(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    client.faults["put_item"] = [client_error("AccessDeniedException")]
    assert list(store.claim(["ns#x"], **TIMES).failed) == ["ns#x"]


# --- complete, release, peek ---


def test_completing_many_keys_takes_one_batch_write_per_25_and_resends_what_was_left_unprocessed(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    def half_done(real: Any, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        real.batch_write_item(RequestItems={table: requests[:10]})
        return {"UnprocessedItems": {table: requests[10:]}}

    client.faults["batch_write_item"] = [half_done]
    failed = store.complete([(key, None) for key in keys(30)], expires_at=TIMES["expires_at"])

    assert failed == {}
    assert client.calls == {"batch_write_item": 3}  # 25 (10 taken, 15 sent again), then 5
    assert all(item(store, key)["status"]["S"] == COMPLETED for key in keys(30))  # type: ignore[index]


def test_items_left_unprocessed_every_time_fail(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    def none_done(real: Any, RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"UnprocessedItems": RequestItems}

    client.faults["batch_write_item"] = [none_done] * 4
    failed = store.release(keys(3))
    assert sorted(failed) == keys(3) and "unprocessed" in str(failed["ns#k0"])


def test_one_completion_is_one_put_and_keeps_the_result(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    store.claim(["ns#a"], **TIMES)
    client.calls.clear()
    assert store.complete([("ns#a", '{"x":1}')], expires_at=TIMES["expires_at"]) == {}
    assert client.calls == {"put_item": 1}
    assert item(store, "ns#a") == {
        "id": {"S": "ns#a"},
        "status": {"S": COMPLETED},
        "expiration": {"N": str(TIMES["expires_at"])},
        "data": {"S": '{"x":1}'},
    }


def test_a_failed_completion_is_reported_not_raised(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    client.faults["put_item"] = [client_error("ProvisionedThroughputExceededException")]
    assert list(store.complete([("ns#a", None)], expires_at=TIMES["expires_at"])) == ["ns#a"]


def test_release_deletes_the_claims(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    store.claim(keys(30), **TIMES)
    client.calls.clear()
    assert store.release(keys(30)) == {}
    assert client.calls == {"batch_write_item": 2}
    assert all(item(store, key) is None for key in keys(30))


def test_peek_reads_what_holds_each_key_and_leaves_out_the_free_ones(
    store: DynamoDBIdempotencyStore, client: Faulty
) -> None:
    store.claim(["ns#a", "ns#b"], **TIMES)
    store.complete([("ns#b", None)], expires_at=TIMES["expires_at"])

    found, failed = store.peek(["ns#a", "ns#b", "ns#c"], **{"now_ms": TIMES["now_ms"]})
    assert {key: held.status for key, held in found.items()} == {"ns#a": IN_PROGRESS, "ns#b": COMPLETED}
    assert failed == {}
    after_the_claim = store.peek(["ns#a"], now_ms=TIMES["in_progress_until_ms"] + 1)
    assert after_the_claim == ({}, {})


def test_peek_reports_the_keys_it_could_not_read(store: DynamoDBIdempotencyStore, client: Faulty) -> None:
    client.faults["batch_get_item"] = [client_error("InternalServerError")]
    found, failed = store.peek(["ns#a"], now_ms=NOW_MS)
    assert found == {} and list(failed) == ["ns#a"]


def test_the_store_makes_no_client_until_it_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    built = DynamoDBIdempotencyStore("orders-idempotency")
    assert built._client is None
