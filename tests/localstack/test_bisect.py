"""Bisect on function error, on LocalStack's own stream pollers with a fake function: no LocalStack running.

The poller, its event processor, the failure context and the destination message are LocalStack's
code; only the function (a fake Sender), the destination's client and the clock are fakes. Records
are followed by identity (their sequence numbers) from the stream to the function or the destination.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from localstack.services.lambda_.event_source_mapping.esm_event_processor import EsmEventProcessor
from localstack.services.lambda_.event_source_mapping.pipe_loggers.noops_pipe_logger import NoOpsPipeLogger
from localstack.services.lambda_.event_source_mapping.pollers import stream_poller
from localstack.services.lambda_.event_source_mapping.pollers.dynamodb_poller import DynamoDBPoller
from localstack.services.lambda_.event_source_mapping.pollers.kinesis_poller import KinesisPoller
from localstack.services.lambda_.event_source_mapping.senders.sender import (
    PartialFailureSenderError,
    SenderError,
)
from shardsafe_localstack import bisect_on_error, payload_limit
from shardsafe_localstack.bisect_on_error import BISECT_ENV, BISECT_TAG
from shardsafe_localstack.switches import SwitchError

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
TABLE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:on-failure"
BUCKET_ARN = "arn:aws:s3:::on-failure"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:consumer"
SHARD = "shardId-000000000000"
ESM_ARN = "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:esm-uuid"
NOW = 1_800_000_000.0
MAX_INVOCATIONS = 500


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


class NoWait:
    """Stands in for the poller's shutdown event: records the backoff waits instead of sleeping.

    It reports a shutdown once the function has been invoked MAX_INVOCATIONS times, so that a
    retry loop that never ends fails its test instead of hanging it.
    """

    def __init__(self, function: FakeFunction | None = None) -> None:
        self.waits: list[float] = []
        self.function = function

    def is_set(self) -> bool:
        return self.function is not None and len(self.function.invocations) >= MAX_INVOCATIONS

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False


@dataclass
class FakeFunction:
    """The function behind the mapping: fails a batch holding a poison record, the way it is told to."""

    poison: set[str] = field(default_factory=set)
    mode: str = "crash"  # crash: the invocation fails; partial: a partial batch response
    clock: Clock | None = None
    seconds_per_invocation: float = 0.0
    invocations: list[list[str]] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    target_arn: str = FUNCTION_ARN

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any] | None:
        sequence_numbers = [sequence_number(event) for event in events]
        self.invocations.append(sequence_numbers)
        if self.clock is not None:
            self.clock.now += self.seconds_per_invocation
        bad = [n for n in sequence_numbers if n in self.poison]
        error = {"requestId": f"req-{len(self.invocations)}", "functionError": "Unhandled"}
        if bad and self.mode == "crash":
            raise SenderError(error=error)
        if bad and self.mode == "partial":
            self.processed += sequence_numbers[: sequence_numbers.index(bad[0])]
            failures = {"batchItemFailures": [{"itemIdentifier": n} for n in bad]}
            raise PartialFailureSenderError(error=error, partial_failure_payload=failures)
        if self.mode == "unknown-identifier":
            raise PartialFailureSenderError(
                error=error, partial_failure_payload={"batchItemFailures": [{"itemIdentifier": "nope"}]}
            )
        self.processed += sequence_numbers
        return None


def sequence_number(event: dict[str, Any]) -> str:
    return str(
        event["kinesis"]["sequenceNumber"] if "kinesis" in event else event["dynamodb"]["SequenceNumber"]
    )


@dataclass
class Destination:
    """The on-failure destination's client: what LocalStack's send_events_to_dlq sends, parsed."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.messages.append(json.loads(MessageBody))

    def put_object(self, Bucket: str, Key: str, Body: str) -> None:
        self.messages.append(json.loads(Body))

    def reported(self) -> list[tuple[str, str, int]]:
        return [
            (
                m["KinesisBatchInfo"]["startSequenceNumber"],
                m["KinesisBatchInfo"]["endSequenceNumber"],
                m["KinesisBatchInfo"]["batchSize"],
            )
            for m in self.messages
        ]


@pytest.fixture
def destination(monkeypatch: pytest.MonkeyPatch) -> Destination:
    fake = Destination()
    monkeypatch.setattr(stream_poller, "get_internal_client", lambda arn: fake)
    monkeypatch.setattr(stream_poller, "get_queue_url", lambda arn: "http://queue")
    return fake


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(stream_poller, "get_current_time", fake)
    return fake


@pytest.fixture(autouse=True)
def switch_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BISECT_ENV, raising=False)
    monkeypatch.delenv(payload_limit.PAYLOAD_LIMIT_ENV, raising=False)
    monkeypatch.setattr(bisect_on_error, "mapping_tags", lambda poller: {})


@pytest.fixture(scope="module", autouse=True)
def patched() -> None:
    bisect_on_error.apply()
    payload_limit.apply()


def kinesis_poller(
    function: FakeFunction,
    *,
    bisect: bool = True,
    retries: int = 2,
    max_age: int = -1,
    destination_arn: str = QUEUE_ARN,
) -> KinesisPoller:
    parameters = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRetryAttempts": retries,
        "MaximumRecordAgeInSeconds": max_age,
        "DeadLetterConfig": {"Arn": destination_arn},
    }
    poller = KinesisPoller(
        source_arn=STREAM_ARN,
        source_parameters={"KinesisStreamParameters": parameters},
        source_client=object(),  # type: ignore[arg-type]  # never called: records are handed in
        processor=EsmEventProcessor(sender=function, logger=NoOpsPipeLogger()),
        esm_uuid="esm-uuid",
        kinesis_namespace=True,
    )
    bisect_on_error.configure_poller(
        poller, {"BisectBatchOnFunctionError": bisect, "EventSourceMappingArn": ESM_ARN}
    )
    poller._is_shutdown = NoWait(function)  # type: ignore[assignment]
    return poller


def kinesis_records(count: int, *, first: int = 1, arrived: float = NOW) -> list[dict[str, Any]]:
    return [
        {
            "SequenceNumber": f"{n:056d}",
            "PartitionKey": "key",
            "Data": json.dumps({"n": n}).encode(),
            "ApproximateArrivalTimestamp": datetime.fromtimestamp(arrived, tz=UTC),
        }
        for n in range(first, first + count)
    ]


def seq(n: int) -> str:
    return f"{n:056d}"


def forward(poller: Any, records: list[dict[str, Any]]) -> None:
    poller.forward_events_to_target(SHARD, tuple(records))


def assert_each_record_once(
    records: list[dict[str, Any]], function: FakeFunction, destination: Destination
) -> list[str]:
    """Every record processed or reported exactly once, by its sequence number; the reported ones."""
    reported: list[str] = []
    for message in destination.messages:
        info = message["KinesisBatchInfo"]
        first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        reported += [seq(n) for n in range(first, last + 1)]
        assert last - first + 1 == info["batchSize"]
    everything = [r["SequenceNumber"] for r in records]
    assert sorted(function.processed + reported) == everything, "a record lost or handled twice"
    assert function.processed == [n for n in everything if n in set(function.processed)], "out of order"
    return reported


def test_one_crashing_record_in_100_is_reported_alone_and_the_99_others_are_processed_in_order(
    destination: Destination,
) -> None:
    function = FakeFunction(poison={seq(42)})
    records = kinesis_records(100)
    forward(kinesis_poller(function, retries=2), records)

    reported = assert_each_record_once(records, function, destination)
    assert reported == [seq(42)]
    assert len(function.processed) == 99
    (message,) = destination.messages
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3, (
        "the lone record's first try and 2 retries"
    )
    assert message["requestContext"]["functionArn"] == FUNCTION_ARN
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert message["KinesisBatchInfo"]["shardId"] == SHARD
    assert message["KinesisBatchInfo"]["streamArn"] == STREAM_ARN


def test_splitting_uses_no_retries_so_a_lone_record_gets_all_of_them(destination: Destination) -> None:
    function = FakeFunction(poison={seq(1)})
    forward(kinesis_poller(function, retries=1), kinesis_records(64))

    with_poison = [batch for batch in function.invocations if seq(1) in batch]
    # 64 -> 32 -> 16 -> 8 -> 4 -> 2 -> 1 (first try), then 1 retry.
    assert [len(batch) for batch in with_poison] == [64, 32, 16, 8, 4, 2, 1, 1]
    assert destination.reported() == [(seq(1), seq(1), 1)]


def test_with_no_retries_the_lone_record_is_reported_after_one_try(destination: Destination) -> None:
    function = FakeFunction(poison={seq(8)})
    forward(kinesis_poller(function, retries=0), kinesis_records(8))

    assert [len(b) for b in function.invocations if seq(8) in b] == [8, 4, 2, 1]
    (message,) = destination.messages
    assert message["requestContext"]["approximateInvokeCount"] == 1


def test_the_halves_are_tried_in_stream_order_and_a_split_half_does_not_wait(
    destination: Destination,
) -> None:
    function = FakeFunction(poison={seq(3)})
    poller = kinesis_poller(function, retries=1)
    forward(poller, kinesis_records(8))

    assert function.invocations == [
        [seq(n) for n in range(1, 9)],
        [seq(n) for n in range(1, 5)],
        [seq(1), seq(2)],
        [seq(3), seq(4)],
        [seq(3)],
        [seq(3)],  # the one retry
        [seq(4)],
        [seq(n) for n in range(5, 9)],
    ]
    assert len(poller._is_shutdown.waits) == 1, "only the retry waited for the backoff"  # type: ignore[attr-defined]


def test_an_unsplit_batch_that_succeeds_is_invoked_once(destination: Destination) -> None:
    function = FakeFunction()
    forward(kinesis_poller(function), kinesis_records(10))
    assert len(function.invocations) == 1
    assert destination.messages == []


@given(
    size=st.integers(1, 40),
    poison=st.sets(st.integers(1, 40), max_size=6),
    retries=st.integers(0, 2),
)
def test_every_record_is_processed_or_reported_exactly_once_and_in_order(
    size: int, poison: set[int], retries: int
) -> None:
    destination = Destination()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(stream_poller, "get_internal_client", lambda arn: destination)
        monkeypatch.setattr(stream_poller, "get_queue_url", lambda arn: "http://queue")
        monkeypatch.setattr(bisect_on_error, "mapping_tags", lambda poller: {})
        function = FakeFunction(poison={seq(n) for n in poison if n <= size})
        records = kinesis_records(size)
        forward(kinesis_poller(function, retries=retries), records)

    reported = assert_each_record_once(records, function, destination)
    assert sorted(reported) == sorted(function.poison), "only the poison records are reported"
    assert all(info[2] == 1 for info in destination.reported()), "each reported alone"
    assert [m["requestContext"]["approximateInvokeCount"] for m in destination.messages] == [
        retries + 1
    ] * len(reported)


def test_records_past_the_maximum_age_are_reported_as_such_and_the_rest_is_processed(
    destination: Destination, clock: Clock
) -> None:
    function = FakeFunction()
    old = kinesis_records(3, first=1, arrived=NOW - 120)
    fresh = kinesis_records(5, first=4, arrived=NOW - 10)
    forward(kinesis_poller(function, max_age=60), old + fresh)

    assert destination.reported() == [(seq(1), seq(3), 3)]
    assert function.processed == [seq(n) for n in range(4, 9)]
    assert_each_record_once(old + fresh, function, destination)


def test_the_maximum_age_holds_throughout_for_the_retried_record_and_the_halves_waiting_behind_it(
    destination: Destination, clock: Clock
) -> None:
    function = FakeFunction(poison={seq(2)}, clock=clock, seconds_per_invocation=7)
    records = kinesis_records(4, arrived=NOW)
    forward(kinesis_poller(function, retries=-1, max_age=60), records)

    assert function.processed == [seq(1)]
    assert destination.reported() == [(seq(2), seq(2), 1), (seq(3), seq(4), 2)]
    assert {m["requestContext"]["condition"] for m in destination.messages} == {"RecordAgeExceeded"}
    assert_each_record_once(records, function, destination)


def test_a_partial_batch_response_retries_from_the_reported_record_without_halving(
    destination: Destination,
) -> None:
    function = FakeFunction(poison={seq(5)}, mode="partial")
    records = kinesis_records(8)
    forward(kinesis_poller(function, retries=2), records)

    assert function.invocations == [
        [seq(n) for n in range(1, 9)],
        [seq(n) for n in range(5, 9)],
        [seq(n) for n in range(5, 9)],
    ], "the records before the checkpoint are not sent again; the rest is retried whole, counted"
    assert destination.reported() == [(seq(5), seq(8), 4)]
    (message,) = destination.messages
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert_each_record_once(records, function, destination)


def test_a_partial_response_naming_a_record_not_in_the_batch_is_a_failure_and_is_bisected(
    destination: Destination,
) -> None:
    function = FakeFunction(mode="unknown-identifier")
    forward(kinesis_poller(function, retries=0), kinesis_records(2))
    assert [len(b) for b in function.invocations] == [2, 1, 1]
    assert destination.reported() == [(seq(1), seq(1), 1), (seq(2), seq(2), 1)]


def test_an_s3_destination_gets_the_reported_part_and_its_records_only(destination: Destination) -> None:
    function = FakeFunction(poison={seq(6)})
    forward(kinesis_poller(function, retries=0, destination_arn=BUCKET_ARN), kinesis_records(10))

    (message,) = destination.messages
    records = message["payload"]["Records"]
    assert [r["kinesis"]["sequenceNumber"] for r in records] == [seq(6)]
    assert json.loads(base64.b64decode(records[0]["kinesis"]["data"])) == {"n": 6}


def test_with_the_switch_off_the_whole_batch_is_retried_and_reported_as_stock_localstack_does(
    destination: Destination, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BISECT_ENV, "0")
    function = FakeFunction(poison={seq(42)})
    forward(kinesis_poller(function, retries=1), kinesis_records(100))

    assert [len(b) for b in function.invocations] == [100, 100]
    assert destination.reported() == [(seq(1), seq(100), 100)]


def test_a_mapping_without_bisect_batch_on_function_error_is_not_bisected(destination: Destination) -> None:
    function = FakeFunction(poison={seq(3)})
    forward(kinesis_poller(function, bisect=False, retries=0), kinesis_records(10))
    assert destination.reported() == [(seq(1), seq(10), 10)]


@pytest.mark.parametrize(
    ("environment", "tag", "expected"),
    [(None, None, True), ("0", None, False), ("0", "on", True), (None, "off", False), ("1", "bogus", True)],
)
def test_the_mapping_tag_overrides_the_environment_switch(
    monkeypatch: pytest.MonkeyPatch, environment: str | None, tag: str | None, expected: bool
) -> None:
    if environment is not None:
        monkeypatch.setenv(BISECT_ENV, environment)
    poller = kinesis_poller(FakeFunction())
    tags = {} if tag is None else {BISECT_TAG: tag}
    assert bisect_on_error.bisect_enabled(poller, tags=lambda _: tags) is expected


def test_a_switch_that_is_neither_on_nor_off_is_refused_with_its_name_and_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BISECT_ENV, "maybe")
    with pytest.raises(SwitchError, match=r"SHARDSAFE_LOCALSTACK_BISECT='maybe' .* set it to 1 or 0"):
        bisect_on_error.bisect_switch_from_environment()


def test_dynamodb_stream_batches_are_bisected_too(destination: Destination) -> None:
    function = FakeFunction(poison={"300"})
    parameters = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "MaximumRetryAttempts": 0,
        "MaximumRecordAgeInSeconds": -1,
        "DeadLetterConfig": {"Arn": QUEUE_ARN},
    }
    poller = DynamoDBPoller(
        source_arn=TABLE_STREAM_ARN,
        source_parameters={"DynamoDBStreamParameters": parameters},
        source_client=object(),  # type: ignore[arg-type]
        processor=EsmEventProcessor(sender=function, logger=NoOpsPipeLogger()),
        esm_uuid="esm-uuid",
    )
    bisect_on_error.configure_poller(poller, {"BisectBatchOnFunctionError": True})
    poller._is_shutdown = NoWait(function)  # type: ignore[assignment]
    records = [
        {"eventID": str(n), "eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n), "Keys": {}}}
        for n in range(100, 1100, 100)
    ]
    poller.forward_events_to_target(SHARD, tuple(records))

    (message,) = destination.messages
    assert message["DDBStreamBatchInfo"]["startSequenceNumber"] == "300"
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert function.processed == [str(n) for n in range(100, 1100, 100) if n != 300]


# --- The 6 MB payload limit (payload_limit) ---


def test_runs_within_the_limit_keep_order_and_never_cut_a_record() -> None:
    runs = list(payload_limit.runs_within([4, 4, 4, 9, 1], limit=len('{"Records": []}') + 9))
    assert runs == [slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 5)]


def test_a_batch_over_6_mb_reaches_the_function_in_runs_within_6_mb(destination: Destination) -> None:
    function = FakeFunction()
    records = kinesis_records(10)
    for record in records:
        record["Data"] = b"x" * 900_000  # base64: 1.2 MB each
    forward(kinesis_poller(function), records)

    assert [len(b) for b in function.invocations] == [5, 5]
    assert function.processed == [r["SequenceNumber"] for r in records]


def test_with_the_payload_switch_off_a_batch_is_not_cut(
    destination: Destination, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(payload_limit.PAYLOAD_LIMIT_ENV, "0")
    function = FakeFunction()
    records = kinesis_records(10)
    for record in records:
        record["Data"] = b"x" * 900_000
    forward(kinesis_poller(function), records)
    assert [len(b) for b in function.invocations] == [10]


# --- How the patches reach LocalStack ---


def test_the_worker_factory_patch_hands_the_mapping_setting_and_arn_to_the_poller() -> None:
    poller = kinesis_poller(FakeFunction(), bisect=False)

    @dataclass
    class Worker:
        poller: Any

    @dataclass
    class Factory:
        esm_config: dict[str, Any]

    esm = {"BisectBatchOnFunctionError": True, "EventSourceMappingArn": "arn:aws:lambda:us-east-1:0:esm:x"}
    worker = bisect_on_error.get_esm_worker(lambda factory: Worker(poller), Factory(esm))
    assert worker.poller.stream_parameters["BisectBatchOnFunctionError"] is True
    assert worker.poller.event_source_mapping_arn == esm["EventSourceMappingArn"]
