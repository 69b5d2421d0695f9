"""The speed patches to LocalStack (speedups.py), on LocalStack's own classes with fake AWS clients: no LocalStack running.

The ESM worker's poll loop, the stream poller and the Lambda log handler are LocalStack's code; only
the Kinesis and CloudWatch clients and the worker's shutdown event are fakes, so waits are
recorded instead of slept.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from localstack.services.lambda_.event_source_mapping import esm_worker
from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
from localstack.services.lambda_.event_source_mapping.pollers.kinesis_poller import KinesisPoller
from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller
from localstack.services.lambda_.invocation import version_manager
from localstack.services.lambda_.invocation.logs import QUEUE_SHUTDOWN, LogHandler, LogItem
from shardsafe_localstack import speedups
from shardsafe_localstack.switches import SwitchError

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:consumer"
SHARD = "shardId-000000000000"
SWITCHES = (speedups.BATCH_LOGS_ENV, speedups.BATCH_METRICS_ENV, speedups.POLL_AGAIN_ENV)


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The speed patches applied (every switch on), and taken out again afterwards."""
    for name in SWITCHES:
        monkeypatch.delenv(name, raising=False)
    speedups.undo()
    speedups.apply()
    yield
    speedups.undo()


@pytest.fixture
def stock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The speed patches applied with every switch off."""
    for name in SWITCHES:
        monkeypatch.setenv(name, "0")
    speedups.undo()
    speedups.apply()
    yield
    speedups.undo()


def stock_functions() -> dict[str, Any]:
    return {
        "add_logs": LogHandler.add_logs,
        "run_log_loop": LogHandler.run_log_loop,
        # The names the version manager imported (re-exports mypy does not see).
        "record_cw_metric_invocation": getattr(version_manager, "record_cw_metric_invocation"),  # noqa: B009
        "record_cw_metric_error": getattr(version_manager, "record_cw_metric_error"),  # noqa: B009
        "start_thread": getattr(version_manager, "start_thread"),  # noqa: B009
        "get_records": StreamPoller.get_records,
        "poll_events_from_shard": StreamPoller.poll_events_from_shard,
        "poller_loop": EsmWorker.poller_loop,
    }


# --- Switches ---


def test_with_every_switch_off_localstack_keeps_its_own_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    speedups.undo()
    before = stock_functions()
    for name in SWITCHES:
        monkeypatch.setenv(name, "0")
    speedups.apply()
    try:
        assert stock_functions() == before
    finally:
        speedups.undo()


def test_each_switch_on_replaces_only_its_functions_and_undo_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    speedups.undo()
    before = stock_functions()
    owned = {
        speedups.BATCH_LOGS_ENV: {"add_logs", "run_log_loop"},
        speedups.BATCH_METRICS_ENV: {"record_cw_metric_invocation", "record_cw_metric_error", "start_thread"},
        speedups.POLL_AGAIN_ENV: {"get_records", "poll_events_from_shard", "poller_loop"},
    }
    for on, names in owned.items():
        for name in SWITCHES:
            monkeypatch.setenv(name, "1" if name == on else "0")
        speedups.apply()
        try:
            after = stock_functions()
            assert {key for key in before if after[key] is not before[key]} == names
        finally:
            speedups.undo()
        assert stock_functions() == before


def test_a_switch_that_is_neither_on_nor_off_is_refused_with_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    speedups.undo()
    monkeypatch.setenv(speedups.POLL_AGAIN_ENV, "fast")
    with pytest.raises(SwitchError, match=speedups.POLL_AGAIN_ENV):
        speedups.apply()
    assert not speedups._applied


# --- Poll again ---


class FakeKinesis:
    """GetRecords over pages of the given sizes; after the last page, the worker is told to stop."""

    def __init__(self, page_sizes: list[int], worker_event: Any) -> None:
        self.pages = list(page_sizes)
        self.worker_event = worker_event
        self.sequence = 0
        self.calls = 0

    def get_records(self, ShardIterator: str, Limit: int, **stream: Any) -> dict[str, Any]:
        self.calls += 1
        if not self.pages:
            self.worker_event.set()
            return {"Records": [], "NextShardIterator": ShardIterator}
        size = min(self.pages.pop(0), Limit)
        records = []
        for _ in range(size):
            self.sequence += 1
            records.append(
                {
                    "SequenceNumber": f"{self.sequence:056d}",
                    "Data": base64.b64encode(b"{}"),
                    "PartitionKey": "k",
                    "ApproximateArrivalTimestamp": datetime.now(UTC),
                }
            )
        return {"Records": records, "NextShardIterator": f"it-{self.calls}", "MillisBehindLatest": 0}


class RecordedEvent:
    """The worker's shutdown event, recording waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float | None] = []
        self._set = False

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self._set

    def set(self) -> None:
        self._set = True

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set


class Processor:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def process_events_batch(self, events: list[dict[str, Any]]) -> None:
        self.batches.append(len(events))


class Worker(EsmWorker):
    """LocalStack's worker, its poll loop untouched; only its store updates are left out."""

    def update_esm_state_in_store(self, new_state: Any) -> None:
        pass

    def delete_esm_in_store(self) -> None:
        pass


def run_poll_loop(
    page_sizes: list[int], batch_size: int = 100
) -> tuple[RecordedEvent, FakeKinesis, Processor]:
    processor = Processor()
    event = RecordedEvent()
    kinesis = FakeKinesis(page_sizes, event)
    poller = KinesisPoller(
        source_arn=STREAM_ARN,
        source_parameters={
            "KinesisStreamParameters": {"BatchSize": batch_size, "StartingPosition": "TRIM_HORIZON"}
        },
        source_client=kinesis,
        processor=processor,  # type: ignore[arg-type]
        esm_uuid="esm-uuid",
        shards={SHARD: "it-0"},
        kinesis_namespace=True,
    )
    version = SimpleNamespace(id=SimpleNamespace(account="000000000000", region="us-east-1"))
    with mock.patch.object(esm_worker, "get_function_version_from_arn", return_value=version):
        worker = Worker({"FunctionArn": FUNCTION_ARN, "UUID": "esm-uuid"}, poller)
    worker._shutdown_event = event  # type: ignore[assignment]
    worker.poller_loop()  # type: ignore[no-untyped-call]
    return event, kinesis, processor


def test_the_poller_reads_again_at_once_while_batches_come_back_full(patched: None) -> None:
    event, kinesis, processor = run_poll_loop([100, 100, 100, 100, 100, 40])

    assert processor.batches == [100, 100, 100, 100, 100, 40]
    # Six polls with records and the one that finds none: the worker waited only after the partial
    # page and the empty one, never between the full ones.
    assert kinesis.calls == 7
    assert len(event.waits) == 2


def test_with_the_switch_off_the_poller_waits_a_poll_interval_after_every_batch(stock: None) -> None:
    event, kinesis, processor = run_poll_loop([100, 100, 100, 100, 100, 40])

    assert processor.batches == [100, 100, 100, 100, 100, 40]
    assert kinesis.calls == 7
    assert len(event.waits) == 7


def test_a_batch_smaller_than_the_batch_size_is_followed_by_a_poll_interval(patched: None) -> None:
    event, _, processor = run_poll_loop([30, 30, 30])

    assert processor.batches == [30, 30, 30]
    assert len(event.waits) == 4


def test_any_shard_with_more_records_keeps_the_worker_from_waiting(patched: None) -> None:
    poller: Any = object.__new__(KinesisPoller)
    waited = RecordedEvent()
    event = speedups.PollAgainEvent(waited, poller)  # type: ignore[arg-type]
    speedups.shards_with_more_of(poller).update({"shardId-1"})
    assert event.wait(1.0) is False
    assert waited.waits == []

    speedups.shards_with_more_of(poller).clear()
    event.wait(1.0)
    assert waited.waits == [1.0]


# --- Logs ---


class FakeLogs:
    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

        class ResourceAlreadyExistsException(Exception):
            pass

    def __init__(self) -> None:
        self.puts: list[tuple[str, str, list[dict[str, Any]]]] = []
        self.streams: set[tuple[str, str]] = set()

    def put_log_events(self, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> None:
        if (logGroupName, logStreamName) not in self.streams:
            raise self.exceptions.ResourceNotFoundException()
        self.puts.append((logGroupName, logStreamName, logEvents))

    def create_log_group(self, logGroupName: str) -> None:
        pass

    def create_log_stream(self, logGroupName: str, logStreamName: str) -> None:
        self.streams.add((logGroupName, logStreamName))


@pytest.fixture
def fake_logs(monkeypatch: pytest.MonkeyPatch) -> FakeLogs:
    from localstack.aws import connect

    logs = FakeLogs()

    class Factory:
        def with_assumed_role(self, **_: Any) -> Any:
            return type("Clients", (), {"logs": logs})()

    monkeypatch.setattr(connect, "connect_to", Factory())
    return logs


def test_the_logs_of_several_invocations_go_in_one_put_per_stream_in_order(
    patched: None, fake_logs: FakeLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = LogHandler("arn:aws:iam::000000000000:role/r", "us-east-1")
    monkeypatch.setattr(speedups, "LOG_BATCH_WINDOW_S", 5.0)  # everything below arrives within it
    handler.add_logs(LogItem("/aws/lambda/a", "s1", "START 1\nline 1\n\nEND 1\n"))
    handler.add_logs(LogItem("/aws/lambda/b", "s2", "START 2\n"))
    handler.add_logs(LogItem("/aws/lambda/a", "s1", "START 3\nEND 3"))
    handler.log_queue.put(QUEUE_SHUTDOWN)

    handler.run_log_loop()

    assert [(group, stream, [e["message"] for e in events]) for group, stream, events in fake_logs.puts] == [
        ("/aws/lambda/a", "s1", ["START 1\n", "line 1\n", "END 1\n", "START 3\n", "END 3\n"]),
        ("/aws/lambda/b", "s2", ["START 2\n"]),
    ]


def test_log_events_keep_the_time_their_invocation_ended_not_the_time_they_were_shipped(
    patched: None, fake_logs: FakeLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = LogHandler("arn:aws:iam::000000000000:role/r", "us-east-1")
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    handler.add_logs(LogItem("/aws/lambda/a", "s1", "one\n"))
    monkeypatch.setattr(time, "time", lambda: 1_800_000_042.0)
    handler.log_queue.put(QUEUE_SHUTDOWN)

    handler.run_log_loop()

    assert fake_logs.puts[0][2] == [{"timestamp": 1_800_000_000_000, "message": "one\n"}]


def test_a_put_holds_at_most_10000_events_and_1_mb() -> None:
    many = [{"timestamp": 1, "message": "x\n"} for _ in range(25_000)]
    assert [len(chunk) for chunk in speedups.put_chunks(many)] == [10_000, 10_000, 5_000]

    big = [{"timestamp": 1, "message": "y" * 400_000} for _ in range(5)]
    assert [len(chunk) for chunk in speedups.put_chunks(big)] == [2, 2, 1]
    assert [event for chunk in speedups.put_chunks(many + big) for event in chunk] == many + big


# --- Metrics ---


def test_metrics_are_counted_and_published_as_one_statistic_set_per_function_and_metric(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[tuple[str, str, str, str, int]] = []
    monkeypatch.setattr(
        speedups.MetricsPublisher, "publish", staticmethod(lambda *args: published.append(args))
    )
    publisher = speedups.MetricsPublisher(flush_s=3600)
    monkeypatch.setattr(speedups, "METRICS", publisher)

    for _ in range(3):
        speedups.record_invocation("consumer", "000000000000", "us-east-1")
    speedups.record_error("consumer", "000000000000", "us-east-1")
    speedups.record_invocation("other", "000000000000", "us-east-1")
    publisher.flush()

    assert sorted(published) == [
        ("000000000000", "us-east-1", "consumer", "Errors", 1),
        ("000000000000", "us-east-1", "consumer", "Invocations", 4),
        ("000000000000", "us-east-1", "other", "Invocations", 1),
    ]
    publisher.flush()
    assert len(published) == 3


def test_a_metric_is_counted_without_a_thread_and_other_threads_still_start() -> None:
    ran: list[str] = []
    started: list[str] = []

    def start_thread(method: Any, *args: Any, name: str | None = None, **kwargs: Any) -> str:
        started.append(str(name))
        return "thread"

    result = speedups.start_thread_unless_metric(
        start_thread, lambda *a, **k: ran.append("metric"), name="record-cloudwatch-metric-f:$LATEST"
    )
    assert (result, ran, started) == (None, ["metric"], [])

    assert speedups.start_thread_unless_metric(start_thread, lambda: None, name="provisioning") == "thread"
    assert started == ["provisioning"]
