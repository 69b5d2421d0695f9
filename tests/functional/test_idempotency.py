"""The idempotency layer through the whole handler: each record's outcome checked by its identity.

Every test runs on both stores (in memory, and DynamoDB as moto serves it) unless it is about one.
A crash is what the process leaves when it dies mid-batch: its claims and the completions written
before it, and nothing after (``crash``: the handler raises KeyboardInterrupt, which shardsafe never
catches, and the end of the batch, which releases claims, does not run).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shardsafe import (
    BatchIncompleteError,
    HandBack,
    Idempotency,
    MemoryIdempotencyStore,
    MemoryMetrics,
    MemoryQuarantine,
    RetryableError,
    Skipped,
    StreamProcessor,
    reasons,
)
from shardsafe.core.idempotency.claims import Claims
from shardsafe.core.idempotency.store import IdempotencyStore
from shardsafe.core.outcomes import QuarantinedRecord
from tests import factories
from tests.idempotency_support import Clock, FailingStore, Handler, processor


def batch(count: int, start: int = 0) -> dict[str, Any]:
    """A Kinesis batch of ``count`` records ``{"n": i}`` with sequence numbers from ``start``."""
    return {
        "Records": [
            factories.kinesis_record({"n": n, "PRICE": 1.5}, sequence=n) for n in range(start, start + count)
        ]
    }


def identities(event: dict[str, Any]) -> list[tuple[str, ...]]:
    from shardsafe.core.sources import KINESIS, SOURCES, by_name

    source = by_name(SOURCES)[KINESIS]
    return [source.identity(raw) for raw in event["Records"]]  # type: ignore[misc]


def halves(event: dict[str, Any], at: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"Records": event["Records"][:at]}, {"Records": event["Records"][at:]}


def outcomes(result: Any) -> list[str]:
    """Each position's outcome as a word: processed, skipped, quarantined, or the hand-back's why."""
    words = []
    for cell in result.outcomes:
        if type(cell) is Skipped:
            words.append("skipped")
        elif type(cell) is QuarantinedRecord:
            words.append("quarantined")
        elif type(cell) is HandBack:
            words.append(cell.why)
        else:
            words.append("processed")
    return words


class Crash(KeyboardInterrupt):
    """What the process dying looks like from inside: nothing after it runs."""


def crash(built: StreamProcessor, event: dict[str, Any], at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run ``event`` and die on the record ``{"n": at}``, after the records before it were handled."""
    original = built._handle
    assert original is not None

    def dying(record: Any) -> Any:
        if record.data["n"] == at:
            raise Crash
        return original(record)

    with monkeypatch.context() as patch:
        patch.setattr(built, "_handle", dying)
        patch.setattr(built, "_attempts", {})
        patch.setattr(Claims, "end", lambda self: None)  # the process is gone: no release
        with pytest.raises(Crash):
            built.process(event, factories.FakeContext(remaining_ms=60_000))


# --- a record delivered again ---


def test_a_batch_delivered_again_is_skipped_and_counted_not_handled_again(
    store: IdempotencyStore, log_lines: Any
) -> None:
    handler = Handler()
    metrics = MemoryMetrics()
    built = processor(handler, store, metrics=metrics, store_results=True)
    event = batch(5)

    first = built.process(event, factories.FakeContext())
    again = built.process(event, factories.FakeContext())

    assert outcomes(first) == ["processed"] * 5
    assert outcomes(again) == ["skipped"] * 5
    assert handler.calls == dict.fromkeys(identities(event), 1)
    assert [skipped.result for _, skipped in again.skipped] == [{"seen": n} for n in range(5)]
    assert again.counts().skipped == 5 and again.response == {"batchItemFailures": []}
    summaries = [line for line in log_lines() if line["event"] == "shardsafe.batch"]
    assert [(line["processed"], line["skipped"]) for line in summaries] == [(5, 0), (0, 5)]
    assert [batch["RecordsSkipped"] for batch in metrics.batches] == [0, 5]


def test_the_lambda_entry_point_answers_success_for_skipped_records(store: IdempotencyStore) -> None:
    built = processor(Handler(), store)
    event = batch(3)
    assert built(event, factories.FakeContext()) == {"batchItemFailures": []}
    assert built(event, factories.FakeContext()) == {"batchItemFailures": []}


def test_without_store_results_a_skip_gives_no_result(store: IdempotencyStore) -> None:
    built = processor(Handler(), store)
    built.process(batch(2), factories.FakeContext())
    assert [skipped.result for _, skipped in built.process(batch(2), factories.FakeContext()).skipped] == [
        None,
        None,
    ]


# --- a crash that Lambda retries, bisected ---


def test_after_a_crash_the_bisected_retries_act_on_each_record_once(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Handler()
    clock = Clock()
    built = processor(handler, store, clock)
    event = batch(10)

    crash(built, event, at=6, monkeypatch=monkeypatch)
    assert handler.calls == dict.fromkeys(identities(event)[:6], 1)

    left, right = halves(event, 5)
    assert outcomes(built.process(left, factories.FakeContext())) == ["skipped"] * 5
    # The dead invocation's claims on 5..9 end with it (60 s after it began): 5 was completed before
    # the crash, 6 onwards are claimed. Too far to wait for in this retry: handed back, in order.
    early = built.process(right, factories.FakeContext(remaining_ms=10_000))
    assert outcomes(early) == ["skipped", "in_progress_elsewhere"] + ["after_earlier_failure"] * 3
    assert [failure["itemIdentifier"] for failure in early.response["batchItemFailures"]] == [
        raw["kinesis"]["sequenceNumber"] for raw in right["Records"][1:]
    ]
    clock.advance(61)  # the dead invocation's time is over: its claims have ended
    late = built.process({"Records": right["Records"][1:]}, factories.FakeContext())
    assert outcomes(late) == ["processed"] * 4
    assert handler.calls == dict.fromkeys(identities(event), 1)


def test_a_dead_claim_that_ends_within_half_the_time_left_is_waited_for(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Handler()
    clock = Clock()
    built = processor(handler, store, clock)
    event = batch(4)
    crash(built, event, at=1, monkeypatch=monkeypatch)
    clock.advance(45)  # the dead claims end in 15 s; this retry has 60 s, so it may wait 29 s

    result = built.process(event, factories.FakeContext(remaining_ms=60_000))

    assert outcomes(result) == ["skipped", "processed", "processed", "processed"]
    assert 14 <= clock.slept <= 16
    assert handler.calls == dict.fromkeys(identities(event), 1)


def test_with_wait_off_a_dead_claim_is_handed_back_at_once(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    built = processor(Handler(), store, clock, wait=False)
    event = batch(3)
    crash(built, event, at=0, monkeypatch=monkeypatch)
    clock.advance(55)

    result = built.process(event, factories.FakeContext(remaining_ms=60_000))

    assert outcomes(result) == ["in_progress_elsewhere", "after_earlier_failure", "after_earlier_failure"]
    assert clock.slept == 0


# --- two invocations at once ---


def test_a_record_another_invocation_is_handling_is_handed_back(store: IdempotencyStore) -> None:
    """The second invocation runs while the first is inside the handler of record 1."""
    event = factories.sqs_event([{"n": n} for n in range(3)])
    second_result: list[Any] = []
    second = processor(Handler(), store)

    def first_handler(record: Any) -> None:
        if record.data["n"] == 1 and not second_result:
            second_result.append(second.process(event, factories.FakeContext(remaining_ms=30_000)))

    first = processor(first_handler, store)
    first_result = first.process(event, factories.FakeContext(remaining_ms=60_000))

    assert outcomes(first_result) == ["processed"] * 3
    # A standard queue: only the messages claimed elsewhere go back; 0 was completed already.
    (result,) = second_result
    assert outcomes(result) == ["skipped", "in_progress_elsewhere", "in_progress_elsewhere"]
    assert [failure["itemIdentifier"] for failure in result.response["batchItemFailures"]] == [
        raw["messageId"] for raw in event["Records"][1:]
    ]


# --- claims released, so that a retry is not blocked ---


def test_a_record_handed_back_has_its_claim_released_and_its_retry_is_handled(
    store: IdempotencyStore,
) -> None:
    handler = Handler(fail={2: RetryableError("downstream throttled")})
    built = processor(handler, store)
    event = batch(5)

    first = built.process(event, factories.FakeContext())
    assert outcomes(first) == ["processed", "processed", "retryable"] + ["after_earlier_failure"] * 2

    handler.fail.clear()
    retry = built.process({"Records": event["Records"][2:]}, factories.FakeContext())
    assert outcomes(retry) == ["processed"] * 3
    assert list(handler.calls.values()) == [1, 1, 2, 1, 1]  # record 2 ran twice: it raised the first time


def test_a_quarantined_record_has_its_claim_released(store: IdempotencyStore) -> None:
    quarantine = MemoryQuarantine()
    handler = Handler(fail={1: ValueError("poison")})
    built = processor(handler, store, quarantine=quarantine)
    event = batch(3)

    assert outcomes(built.process(event, factories.FakeContext())) == [
        "processed",
        "quarantined",
        "processed",
    ]
    again = built.process(event, factories.FakeContext())
    # Delivered again (a crash later in that invocation): the poison record is not skipped, it goes
    # through again and is quarantined again; the others are skipped.
    assert outcomes(again) == ["skipped", "quarantined", "skipped"]
    assert len(quarantine.envelopes) == 2


def test_records_handed_back_for_lack_of_time_have_their_claims_released(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    import types

    import shardsafe.core.run as run_module

    handler = Handler()
    built = processor(handler, store)
    event = batch(3)
    # The claims are made; then, for the run loop alone, the deadline has passed.
    late = types.SimpleNamespace(monotonic=lambda: time.monotonic() + 3600.0)
    with monkeypatch.context() as patch:
        patch.setattr(run_module, "time", late)
        result = built.process(event, factories.FakeContext(remaining_ms=60_000))

    assert outcomes(result) == ["out_of_time"] * 3
    assert handler.calls == {}
    assert outcomes(built.process(event, factories.FakeContext())) == ["processed"] * 3


# --- the store failing ---


def test_when_the_claim_fails_every_record_is_handed_back_unhandled(
    store: IdempotencyStore, log_lines: Any
) -> None:
    failing = FailingStore(store)
    failing.fail["claim"] = ConnectionError("DynamoDB is unreachable")
    handler = Handler()
    built = processor(handler, failing)
    event = factories.sqs_event([{"n": n} for n in range(3)])

    result = built.process(event, factories.FakeContext())

    assert outcomes(result) == ["retryable"] * 3
    assert handler.calls == {}
    assert [failure["itemIdentifier"] for failure in result.response["batchItemFailures"]] == [
        raw["messageId"] for raw in event["Records"]
    ]
    retryable = [line for line in log_lines() if line["event"] == "shardsafe.retryable"]
    assert len(retryable) == 1 and retryable[0]["error_message"] == "DynamoDB is unreachable"


def test_when_completing_fails_the_record_stays_processed_and_completing_is_tried_again(
    store: IdempotencyStore,
) -> None:
    failing = FailingStore(store)
    handler = Handler()
    built = processor(handler, failing)
    event = batch(3)

    calls = {"n": 0}
    real_complete = failing.complete

    def complete_fails_once_per_record(entries: Any, *, expires_at: int) -> dict[str, BaseException]:
        calls["n"] += 1
        if len(entries) == 1:  # the per-record write fails; the batched retry at the end succeeds
            failing.calls["complete"] += 1
            return {key: TimeoutError("write timed out") for key, _ in entries}
        return real_complete(entries, expires_at=expires_at)

    failing.complete = complete_fails_once_per_record  # type: ignore[method-assign]
    assert outcomes(built.process(event, factories.FakeContext())) == ["processed"] * 3
    assert calls["n"] == 4  # three per record, one at the end for all three
    assert outcomes(built.process(event, factories.FakeContext())) == ["skipped"] * 3


def test_when_completing_fails_for_good_a_warning_names_the_keys(
    store: IdempotencyStore, log_lines: Any
) -> None:
    failing = FailingStore(store)
    failing.fail["complete"] = TimeoutError("write timed out")
    built = processor(Handler(), failing)

    assert outcomes(built.process(batch(2), factories.FakeContext())) == ["processed"] * 2

    (warning,) = [line for line in log_lines() if line["event"] == "shardsafe.warning"]
    assert "not marked completed" in warning["message"] and warning["keys"] == 2
    assert warning["error_message"] == "write timed out"


def test_when_releasing_fails_a_retry_is_handed_back_until_the_claim_ends(
    store: IdempotencyStore, log_lines: Any
) -> None:
    failing = FailingStore(store)
    failing.fail["release"] = ConnectionError("unreachable")
    clock = Clock()
    handler = Handler(fail={0: RetryableError("later")})
    built = processor(handler, failing, clock, wait=False)
    event = batch(1)

    assert outcomes(built.process(event, factories.FakeContext(remaining_ms=30_000))) == ["retryable"]
    (warning,) = [line for line in log_lines() if line["event"] == "shardsafe.warning"]
    assert "not released" in warning["message"]

    handler.fail.clear()
    assert outcomes(built.process(event, factories.FakeContext())) == ["in_progress_elsewhere"]
    clock.advance(31)
    assert outcomes(built.process(event, factories.FakeContext())) == ["processed"]


def test_when_reading_a_claim_fails_while_waiting_the_record_is_handed_back(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    failing = FailingStore(store)
    built = processor(Handler(), failing, clock)
    event = batch(2)
    crash(built, event, at=0, monkeypatch=monkeypatch)
    clock.advance(50)
    failing.fail["peek"] = ConnectionError("unreachable")

    assert outcomes(built.process(event, factories.FakeContext())) == [
        "in_progress_elsewhere",
        "after_earlier_failure",
    ]
    assert failing.calls["peek"] == 1


# --- a batch handler ---


def test_with_a_batch_handler_a_record_is_done_when_the_batch_handler_returns(
    store: IdempotencyStore,
) -> None:
    written: list[list[int]] = []

    def write(records: list[Any]) -> None:
        numbers = [record.data["n"] for record in records]
        if 3 in numbers:
            raise ValueError("record 3 cannot be written")
        written.append(numbers)

    failing = FailingStore(store)
    built = StreamProcessor(
        batch_handler=write,
        idempotency=Idempotency(failing, namespace="test"),
        quarantine=MemoryQuarantine(),
        metrics=False,
        tracing=False,
    )
    event = batch(6)

    first = built.process(event, factories.FakeContext())
    assert outcomes(first) == ["processed"] * 3 + ["quarantined"] + ["processed"] * 2
    assert sorted(n for numbers in written for n in numbers) == [0, 1, 2, 4, 5]
    # One completion per successful batch-handler call, never one per record.
    assert failing.calls["complete"] == len(written)

    again = built.process(event, factories.FakeContext())
    assert outcomes(again) == ["skipped"] * 3 + ["quarantined"] + ["skipped"] * 2
    assert sorted(n for numbers in written for n in numbers) == [0, 1, 2, 4, 5]


# --- keys ---


def test_a_key_from_the_payload_skips_work_sent_twice_under_two_message_ids(store: IdempotencyStore) -> None:
    handler = Handler()
    built = processor(handler, store, key=lambda record: record.data["task"])
    event = factories.sqs_event([{"n": 0, "task": "a"}, {"n": 1, "task": "b"}])
    sent_again = factories.sqs_event([{"n": 0, "task": "a"}])
    sent_again["Records"][0]["messageId"] = "another-message-id"

    assert outcomes(built.process(event, factories.FakeContext())) == ["processed"] * 2
    assert outcomes(built.process(sent_again, factories.FakeContext())) == ["skipped"]
    assert sum(handler.calls.values()) == 2


def test_two_records_of_one_batch_with_one_key_are_handled_once(store: IdempotencyStore) -> None:
    handler = Handler()
    built = processor(handler, store, key=lambda record: record.data["task"])
    event = factories.sqs_event([{"n": 0, "task": "a"}, {"n": 1, "task": "a"}, {"n": 2, "task": "b"}])

    first = built.process(event, factories.FakeContext())
    assert outcomes(first) == ["processed", "in_progress_elsewhere", "processed"]
    redelivered = {"Records": [event["Records"][1]]}
    assert outcomes(built.process(redelivered, factories.FakeContext())) == ["skipped"]
    assert sum(handler.calls.values()) == 2


@pytest.mark.parametrize(
    ("key", "payload", "reason", "message"),
    [
        (lambda record: record.data["task"], {"n": 0}, reasons.VALIDATION_ERROR, "KeyError"),
        (lambda record: None, {"n": 0}, reasons.VALIDATION_ERROR, "returned nothing"),
        (lambda record: "x" * 3000, {"n": 0}, reasons.VALIDATION_ERROR, "hash=True"),
        (lambda record: record.data["task"], "{not json", reasons.INVALID_JSON, ""),
    ],
)
def test_a_record_without_a_key_is_quarantined_and_never_handled(
    store: IdempotencyStore, key: Any, payload: Any, reason: str, message: str
) -> None:
    quarantine = MemoryQuarantine()
    handler = Handler()
    built = processor(handler, store, key=key, quarantine=quarantine)
    event = factories.sqs_event([payload if isinstance(payload, str) else json.dumps(payload)])

    assert outcomes(built.process(event, factories.FakeContext())) == ["quarantined"]
    assert handler.calls == {}
    (envelope,) = quarantine.envelopes
    assert envelope.reason == reason
    assert message in f"{envelope.error_type}: {envelope.error_message}"
    assert envelope.payload_bytes() == event["Records"][0]["body"].encode()


def test_a_key_function_that_fails_for_a_moment_hands_the_record_back(store: IdempotencyStore) -> None:
    def key(record: Any) -> str:
        raise TimeoutError("the key service timed out")

    handler = Handler()
    result = processor(handler, store, key=key).process(
        factories.sqs_event([{"n": 0}]), factories.FakeContext()
    )
    assert outcomes(result) == ["retryable"]
    assert handler.calls == {}


def test_the_fifo_deduplication_id_keys_a_message_sent_again(store: IdempotencyStore) -> None:
    def message(message_id: str, group: str, deduplication_id: str) -> dict[str, Any]:
        raw = factories.sqs_record({"n": 0}, fifo=True, group=group)
        raw["messageId"] = message_id
        raw["attributes"]["MessageDeduplicationId"] = deduplication_id
        return raw

    handler = Handler()
    built = processor(handler, store, key="deduplication_id")
    assert outcomes(built.process({"Records": [message("m1", "g", "d1")]}, factories.FakeContext())) == [
        "processed"
    ]
    sent_again = {"Records": [message("m2", "g", "d1"), message("m3", "other-group", "d1")]}
    assert outcomes(built.process(sent_again, factories.FakeContext())) == ["skipped", "processed"]


def test_deduplication_id_on_a_standard_queue_quarantines_with_the_fix(store: IdempotencyStore) -> None:
    quarantine = MemoryQuarantine()
    built = processor(Handler(), store, key="deduplication_id", quarantine=quarantine)
    assert outcomes(built.process(factories.sqs_event([{"n": 0}]), factories.FakeContext())) == [
        "quarantined"
    ]
    assert "key='deduplication_id' is for SQS FIFO queues" in quarantine.envelopes[0].error_message


def test_two_namespaces_on_one_store_each_act_on_every_record(store: IdempotencyStore) -> None:
    first, second = Handler(), Handler()
    event = batch(2)
    processor(first, store, namespace="orders").process(event, factories.FakeContext())
    processor(second, store, namespace="audit").process(event, factories.FakeContext())
    assert sum(first.calls.values()) == sum(second.calls.values()) == 2


# --- options and modes ---


def test_without_batch_item_failures_a_record_in_progress_elsewhere_fails_the_invocation(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    built = processor(Handler(), store, clock, report_batch_item_failures=False, wait=False)
    event = batch(2)
    crash(built, event, at=0, monkeypatch=monkeypatch)
    with pytest.raises(BatchIncompleteError):
        built(event, factories.FakeContext())


def test_a_result_that_is_not_json_is_not_kept_and_the_record_is_processed(
    store: IdempotencyStore, log_lines: Any
) -> None:
    built = processor(lambda record: object(), store, store_results=True)
    assert outcomes(built.process(batch(1), factories.FakeContext())) == ["processed"]
    assert any("not JSON" in line.get("message", "") for line in log_lines())
    assert [skipped.result for _, skipped in built.process(batch(1), factories.FakeContext()).skipped] == [
        None
    ]


def test_a_processor_without_idempotency_calls_the_handler_itself() -> None:
    def handle(record: Any) -> None:
        return None

    built = StreamProcessor(handle, metrics=False, tracing=False)
    assert built._idempotency is None
    assert built._handle is handle


def test_an_idempotency_that_is_not_one_is_refused() -> None:
    from shardsafe import ConfigurationError

    with pytest.raises(ConfigurationError, match="idempotency must be an Idempotency"):
        StreamProcessor(lambda record: None, idempotency=MemoryIdempotencyStore())  # type: ignore[arg-type]


def test_the_documented_snippet_does_what_the_docs_show() -> None:
    import runpy
    import subprocess
    import sys

    from shardsafe_harness import paths

    path = paths.SNIPPETS / "idempotency.py"
    snippet = runpy.run_path(str(path))
    processor_, event = snippet["processor"], snippet["event"]
    assert (
        repr(processor_.process(event).counts())
        == "Counts(processed=2, skipped=0, quarantined=0, handed_back=0)"
    )
    again = processor_.process(event)
    assert (repr(again.counts()), again.response) == (
        "Counts(processed=0, skipped=2, quarantined=0, handed_back=0)",
        {"batchItemFailures": []},
    )
    assert snippet["sent"] == ["INV-1", "INV-2"]
    printed = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True).stdout
    assert "Counts(processed=0, skipped=2, quarantined=0, handed_back=0)" in printed
    assert "['INV-1', 'INV-2']" in printed


def test_a_store_that_raises_instead_of_reporting_loses_nothing_and_doubles_nothing(
    store: IdempotencyStore,
) -> None:
    """A store of one's own may raise where the contract says to report: a claim that raised hands
    every record back unhandled; a completion that raised leaves the record processed."""

    class Raising(FailingStore):
        def __init__(self, inner: IdempotencyStore, raising: str) -> None:
            super().__init__(inner)
            self.raising = raising

        def claim(self, keys: Any, **times: Any) -> Any:
            if self.raising == "claim":
                raise RuntimeError("the store broke")
            return super().claim(keys, **times)

        def complete(self, entries: Any, *, expires_at: int) -> dict[str, BaseException]:
            if self.raising == "complete":
                raise RuntimeError("the store broke")
            return super().complete(entries, expires_at=expires_at)

    handler = Handler()
    result = processor(handler, Raising(store, "claim")).process(batch(2), factories.FakeContext())
    assert outcomes(result) == ["retryable", "after_earlier_failure"]
    assert handler.calls == {}

    result = processor(handler, Raising(store, "complete")).process(batch(2), factories.FakeContext())
    assert outcomes(result) == ["processed", "processed"]


def test_the_user_records_of_a_kpl_aggregate_are_keyed_each_by_its_sub_sequence_number(
    store: IdempotencyStore,
) -> None:
    """A retryable user record hands back its aggregate, so Lambda delivers every user record of it
    again: those done before are skipped, by their identity's sub-sequence number."""
    from tests import kpl

    handler = Handler(fail={2: RetryableError("later")})
    built = processor(handler, store)
    users = [("k", None, json.dumps({"n": n, "PRICE": 1.5}).encode()) for n in range(4)]
    event = {
        "Records": [
            factories.kinesis_record({"n": 9, "PRICE": 1.5}, sequence=0),
            kpl.aggregated_record(users, sequence=1),
        ]
    }

    first = built.process(event, factories.FakeContext())
    assert outcomes(first) == ["processed", "processed", "processed", "retryable", "after_earlier_failure"]
    handler.fail.clear()
    again = built.process({"Records": event["Records"][1:]}, factories.FakeContext())
    assert outcomes(again) == ["skipped", "skipped", "processed", "processed"]
    assert [calls for _, calls in sorted(handler.calls.items())] == [1, 1, 1, 2, 1]
    assert sorted(len(identity) for identity in handler.calls) == [3, 4, 4, 4, 4]  # + sub-sequence number


def test_idempotency_with_a_window_handler_is_refused_naming_why() -> None:
    """Lambda retries a tumbling window's batch with the state from before it: a record skipped as done
    would be missing from the retried state."""
    from shardsafe import ConfigurationError

    with pytest.raises(ConfigurationError, match="idempotency cannot go with a window_handler"):
        StreamProcessor(
            window_handler=lambda window, records: window.state,
            idempotency=Idempotency(MemoryIdempotencyStore()),
        )


def test_a_handler_that_returns_an_awaitable_is_done_once_it_has_run(store: IdempotencyStore) -> None:
    """A plain handler may return an awaitable (it is awaited for it): the record is done, and its
    result kept, only once the awaitable has run."""
    ran: list[int] = []

    async def work(n: int) -> dict[str, int]:
        ran.append(n)
        return {"n": n}

    def handle(record: Any) -> Any:
        return work(record.data["n"])

    built = processor(handle, store, store_results=True)
    assert outcomes(built.process(batch(2), factories.FakeContext())) == ["processed"] * 2
    again = built.process(batch(2), factories.FakeContext())
    assert [skipped.result for _, skipped in again.skipped] == [{"n": 0}, {"n": 1}]
    assert ran == [0, 1]


def test_a_batch_handler_call_that_returns_its_records_completes_none_of_them(
    store: IdempotencyStore,
) -> None:
    """A batch handler reports failure by raising; one that returns records it was given has failed
    (a TypeError the run loop bisects): its records are not done, and come again."""

    def write(records: list[Any]) -> list[Any]:
        return [record for record in records if record.data["n"] == 1]

    built = StreamProcessor(
        batch_handler=write,
        idempotency=Idempotency(store, namespace="test"),
        quarantine=MemoryQuarantine(),
        metrics=False,
        tracing=False,
    )
    first = built.process(batch(3), factories.FakeContext())
    assert outcomes(first) == ["processed", "quarantined", "processed"]
    again = built.process(batch(3), factories.FakeContext())
    assert outcomes(again) == ["skipped", "quarantined", "skipped"]
