"""Concurrent SQS batches up to MaximumConcurrency (sqs_scaling.py), with a fake queue client: no LocalStack running.

The poller is a stand-in with the attributes LocalStack's SqsPoller has; its ``handle_messages``
(the invocation) blocks until the test lets it finish, so the batches in flight can be counted.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException
from shardsafe_localstack import sqs_scaling

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:work-items"


class FakeQueue:
    """ReceiveMessage from a list of batches; records each call."""

    def __init__(self, batches: list[list[dict[str, Any]]]) -> None:
        self.batches = batches
        self.receives = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.receives += 1
        return {"Messages": self.batches.pop(0)} if self.batches else {}


class FakePoller:
    """What poll_events uses of LocalStack's SqsPoller; handle_messages waits for ``release``."""

    def __init__(self, batches: int, limit: int | None) -> None:
        self.source_arn = QUEUE_ARN
        self.queue_url = "http://localhost/000000000000/work-items"
        self.batch_size = 5
        self.maximum_batching_window = 0
        self.is_fifo_queue = False
        self.source_client = FakeQueue([[{"MessageId": f"{n}"}] for n in range(batches)])
        self.release = threading.Event()
        self.running = 0
        self.peak = 0
        self.handled: list[str] = []
        self._lock = threading.Lock()
        if limit is not None:
            self._shardsafe_batch_slots = sqs_scaling.BatchSlots(limit)

    def handle_messages(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(timeout=10)
        with self._lock:
            self.running -= 1
            self.handled += [message["MessageId"] for message in messages]


def stock_poll(poller: Any) -> None:
    raise AssertionError("LocalStack's one-batch-at-a-time poll must not run for a standard queue with slots")


def wait_for(condition: Any, deadline_s: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(deadline_s / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met before the deadline")


def test_the_limit_is_the_mappings_maximum_concurrency_or_five() -> None:
    assert sqs_scaling.concurrency_limit({"ScalingConfig": {"MaximumConcurrency": 3}}) == 3
    assert sqs_scaling.concurrency_limit({}) == sqs_scaling.DEFAULT_CONCURRENCY == 5


def test_no_more_batches_than_the_limit_are_in_flight() -> None:
    poller = FakePoller(batches=6, limit=2)
    sqs_scaling.poll_events(stock_poll, poller)
    wait_for(lambda: poller.running == 2)
    # Both slots taken: the next poll receives nothing (no message held invisible while it waits).
    sqs_scaling.SLOT_WAIT_S, saved = 0.05, sqs_scaling.SLOT_WAIT_S
    try:
        sqs_scaling.poll_events(stock_poll, poller)
    finally:
        sqs_scaling.SLOT_WAIT_S = saved
    assert poller.source_client.receives == 2
    poller.release.set()
    while poller.source_client.batches:
        wait_for(lambda: poller.running == 0)
        sqs_scaling.poll_events(stock_poll, poller)
    wait_for(lambda: len(poller.handled) == 6)
    assert sorted(poller.handled) == [str(n) for n in range(6)]
    assert poller.peak == 2


def test_batches_run_at_once_up_to_the_limit() -> None:
    poller = FakePoller(batches=5, limit=5)
    sqs_scaling.poll_events(stock_poll, poller)
    wait_for(lambda: poller.running == 5)
    poller.release.set()
    wait_for(lambda: len(poller.handled) == 5)


def test_an_empty_queue_backs_off_as_stock() -> None:
    poller = FakePoller(batches=0, limit=2)
    with pytest.raises(EmptyPollResultsException):
        sqs_scaling.poll_events(stock_poll, poller)
    assert poller._shardsafe_batch_slots.take(0) and poller._shardsafe_batch_slots.take(0)  # type: ignore[attr-defined]


def test_fifo_queues_and_mappings_without_slots_poll_as_stock() -> None:
    calls: list[Any] = []
    fifo = FakePoller(batches=1, limit=2)
    fifo.is_fifo_queue = True
    sqs_scaling.poll_events(calls.append, fifo)
    unpatched = FakePoller(batches=1, limit=None)
    sqs_scaling.poll_events(calls.append, unpatched)
    assert calls == [fifo, unpatched]
