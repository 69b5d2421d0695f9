"""Concurrent batches from an SQS queue, at most ``ScalingConfig.MaximumConcurrency`` at once, as AWS documents it.

LocalStack 2026.3.0 stores an SQS mapping's ``ScalingConfig`` but never reads it: its poller
(``SqsPoller.poll_events``) receives a batch and invokes the function with it before receiving the
next, one batch at a time, so a function behind a queue never runs concurrently and the limit is
never put to the test. AWS, "Configuring scaling behavior for SQS event source mappings"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html):

- "When messages are available, Lambda starts processing five batches at a time with five
  concurrent invocations of your function", and scales up from there while messages remain;
- ``MaximumConcurrency`` (2..1000, https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html)
  "limits the number of concurrent instances that the Amazon SQS event source can invoke".

This module makes a standard queue's poller hand each received batch to a thread of its own and
receive the next while fewer than N batches are in flight: N is the mapping's
``MaximumConcurrency``, or five without one (AWS's starting point; the emulation does not scale
further, which a laptop could not run anyway). A receive waits for a free slot first, so no message
is held invisible while it waits for an invocation (its visibility timeout runs from the receive).
Receiving, filtering, invoking and deleting are LocalStack's own code (``SqsPoller.handle_messages``).

Where AWS is silent, the choices made here: FIFO queues keep LocalStack's one-batch-at-a-time loop
(AWS orders by message group, which concurrent batches would need to respect); the limit is read
when LocalStack builds the mapping's worker (create, update, enable), as the rest of the mapping's
settings are.

The switch: ``SHARDSAFE_LOCALSTACK_SQS_SCALING`` in LocalStack's environment (``1``/``0``, default
``1``); off, every SQS mapping polls as stock LocalStack does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shardsafe_localstack.switches import switch

LOG = logging.getLogger(__name__)

SQS_SCALING_ENV = "SHARDSAFE_LOCALSTACK_SQS_SCALING"
#: Batches in flight without MaximumConcurrency: "Lambda starts processing five batches at a time".
DEFAULT_CONCURRENCY = 5
#: How long a poll waits for a free slot before it lets the worker loop run (stop, disable) again.
SLOT_WAIT_S = 1.0
_SLOTS_ATTRIBUTE = "_shardsafe_batch_slots"


class BatchSlots:
    """The batches of one mapping in flight: at most ``limit`` at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self, timeout: float) -> bool:
        """A slot, waiting up to ``timeout`` seconds (0: only if one is free now)."""
        return self._free.acquire(timeout=timeout) if timeout > 0 else self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()


def concurrency_limit(esm_config: dict[str, Any]) -> int:
    """The mapping's MaximumConcurrency, or DEFAULT_CONCURRENCY without one."""
    maximum = (esm_config.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return int(maximum) if maximum else DEFAULT_CONCURRENCY


def get_esm_worker(original: Callable[..., Any], factory: Any) -> Any:
    """The patched EsmWorkerFactory.get_esm_worker: an SQS poller gets its mapping's batch slots."""
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller

    worker = original(factory)
    if isinstance(worker.poller, SqsPoller):
        setattr(worker.poller, _SLOTS_ATTRIBUTE, BatchSlots(concurrency_limit(factory.esm_config)))
    return worker


def poll_events(original: Callable[[Any], None], poller: Any) -> None:
    """The patched SqsPoller.poll_events: receive batches while slots are free, each invoked on its own thread."""
    from localstack.services.lambda_.event_source_mapping.pollers.poller import EmptyPollResultsException

    slots: BatchSlots | None = getattr(poller, _SLOTS_ATTRIBUTE, None)
    if slots is None or poller.is_fifo_queue:
        original(poller)
        return
    dispatched = 0
    while slots.take(SLOT_WAIT_S if dispatched == 0 else 0):
        try:
            messages = _receive(poller)
        except BaseException:
            slots.give_back()
            raise
        if not messages:
            slots.give_back()
            if dispatched == 0:
                raise EmptyPollResultsException(service="sqs", source_arn=poller.source_arn)
            return
        thread = threading.Thread(
            target=_handle, args=(poller, messages, slots), name=f"sqs-batch-{poller.source_arn}", daemon=True
        )
        thread.start()
        dispatched += 1


def _receive(poller: Any) -> list[dict[str, Any]]:
    """One ReceiveMessage as LocalStack's SqsPoller.poll_events makes it."""
    from localstack.aws.api.sqs import MessageSystemAttributeName
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import (
        DEFAULT_MAX_RECEIVE_COUNT,
        DEFAULT_MAX_WAIT_TIME_SECONDS,
    )

    response = poller.source_client.receive_message(
        QueueUrl=poller.queue_url,
        MaxNumberOfMessages=min(poller.batch_size, DEFAULT_MAX_RECEIVE_COUNT),
        WaitTimeSeconds=min(poller.maximum_batching_window, DEFAULT_MAX_WAIT_TIME_SECONDS),
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=[MessageSystemAttributeName.All],
        sqs_override_max_message_count=poller.batch_size,
        sqs_override_wait_time_seconds=poller.maximum_batching_window,
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def _handle(poller: Any, messages: list[dict[str, Any]], slots: BatchSlots) -> None:
    """Invoke the function with one batch (LocalStack's handle_messages), then free the slot."""
    from localstack.services.lambda_.event_source_mapping.senders.sender_utils import batched

    try:
        # As LocalStack does: batches of at most 2,500 records per invocation.
        for message_batch in batched(messages, 2500):
            try:
                poller.handle_messages(message_batch)
            except Exception as error:  # LocalStack logs and goes on; the messages become visible again
                LOG.warning("Polling or batch processing failed: %s", error)
    finally:
        slots.give_back()


_applied: list[Any] = []  # the patches in place


def apply() -> None:
    """Patch LocalStack in memory (never on disk), unless SHARDSAFE_LOCALSTACK_SQS_SCALING is 0; idempotent."""
    if _applied:
        return
    if not switch(SQS_SCALING_ENV):
        LOG.info(
            "SQS scaling emulation off (%s=0): one batch at a time, as stock LocalStack", SQS_SCALING_ENV
        )
        return
    from localstack.services.lambda_.event_source_mapping.esm_worker_factory import EsmWorkerFactory
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
    from localstack.utils.patch import Patch

    for patch in (
        Patch.function(EsmWorkerFactory.get_esm_worker, get_esm_worker),
        Patch.function(SqsPoller.poll_events, poll_events),
    ):
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
