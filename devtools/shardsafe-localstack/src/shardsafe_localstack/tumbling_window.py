"""Tumbling windows on Kinesis and DynamoDB stream mappings, as AWS documents them.

LocalStack 2026.3.0 accepts ``TumblingWindowInSeconds`` on a mapping (``esm_config_factory`` stores it)
and ignores it: the worker factory does not hand it to the poller, and the function gets
``{"Records": [...]}`` only, with no window and no state, and whatever it returns is dropped. A function
written for tumbling windows cannot aggregate across invocations there.

What AWS documents (Lambda developer guide, "Implementing stateful Kinesis Data Streams processing in
Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html, and for DynamoDB
``services-ddb-windows.html``), and this module does:

- "Lambda determines tumbling window boundaries based on the time when records were inserted into the
  stream": each record belongs to the window its approximate arrival (Kinesis) or creation (DynamoDB)
  time falls in;
- the event carries, beside ``Records``: ``window`` (``start``, ``end``), ``state``, ``shardId``,
  ``eventSourceARN``, ``isFinalInvokeForWindow`` and ``isWindowTerminatedEarly``
  (the ``KinesisTimeWindowEvent`` example);
- "your Lambda function response must contain a state property. If the response does not contain a
  state property, Lambda considers this a failed invocation"; the state a response carries is the
  state of the window's next invocation;
- "At the end of the window, the flag isFinalInvokeForWindow is set to true ... After processing, the
  window completes and your final invocation completes, and then the state is dropped"; "If invocation
  is unsuccessful, your Lambda function suspends further processing until a successful invocation".

Where AWS is silent, the choices made here:

- Windows are aligned to the epoch: a window of N seconds starts at a multiple of N (AWS's example, a
  120 s window from 07:04:00 to 07:06:00, is), written ``2020-12-09T07:04:00Z``.
- A batch whose records span windows is cut where the window changes; each part is invoked with its own.
- The final invocation of a window carries no records. It is made when a record of a later window comes
  (before that record's batch), or when a poll of the shard finds no record, the window's end is
  GRACE_S past and none of the shard's records wait in the batching window.
- A failed final invocation is retried with LocalStack's backoff until it succeeds (or the mapping stops).
- Not emulated: ending a window early when its state passes 1 MB (``isWindowTerminatedEarly`` is always
  false here), and resharding (LocalStack's poller does not reshard either).

The switch: ``SHARDSAFE_LOCALSTACK_TUMBLING_WINDOW`` in LocalStack's environment (``1``/``0``, default
``1``); off, a mapping's window is ignored as stock LocalStack ignores it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shardsafe_localstack.switches import switch

LOG = logging.getLogger(__name__)

TUMBLING_WINDOW_ENV = "SHARDSAFE_LOCALSTACK_TUMBLING_WINDOW"
#: The mapping setting, copied into the poller's stream parameters (LocalStack's factory leaves it out).
WINDOW_PARAMETER = "TumblingWindowInSeconds"
#: How long after a window's end a poll that finds nothing closes it.
GRACE_S = 1.0


def tumbling_window_enabled() -> bool:
    return switch(TUMBLING_WINDOW_ENV)


@dataclass
class Window:
    """One shard's open window: where it starts and ends (epoch seconds) and the state its function returned."""

    start: float
    end: float
    state: dict[str, Any] = field(default_factory=dict)
    final: bool = False

    def event_fields(self, shard_id: str, source_arn: str) -> dict[str, Any]:
        """What the event carries beside ``Records`` (services-kinesis-windows.html, KinesisTimeWindowEvent)."""
        return {
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "state": self.state,
            "shardId": shard_id,
            "eventSourceARN": source_arn,
            "isFinalInvokeForWindow": self.final,
            "isWindowTerminatedEarly": False,
        }


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_start(arrival: float, seconds: int) -> float:
    return float(int(arrival // seconds) * seconds)


# --- which window an invocation is for: set by the poller's patch, read by the sender's ---

_current = threading.local()


@dataclass
class Invoking:
    window: Window
    shard_id: str
    source_arn: str


def current() -> Invoking | None:
    invoking: Invoking | None = getattr(_current, "invoking", None)
    return invoking


@contextmanager
def invoking_for(window: Window, shard_id: str, source_arn: str) -> Iterator[Invoking]:
    """While the poller invokes the function for ``window``: what the sender's patch reads."""
    _current.invoking = Invoking(window, shard_id, source_arn)
    try:
        yield _current.invoking
    finally:
        _current.invoking = None


# --- the poller ---


def window_seconds(poller: Any) -> int:
    """The mapping's window (0: none), when the switch is on."""
    seconds = int(poller.stream_parameters.get(WINDOW_PARAMETER) or 0)
    return seconds if seconds > 0 and tumbling_window_enabled() else 0


def open_windows(poller: Any) -> dict[str, Window]:
    if not hasattr(poller, "shardsafe_windows"):
        poller.shardsafe_windows = {}
    windows: dict[str, Window] = poller.shardsafe_windows
    return windows


def arrivals(poller: Any, shard_id: str, records: list[dict[str, Any]]) -> list[float]:
    """Each record's arrival time as the function's event gives it (the poller's transform, on copies)."""
    import copy

    events = poller.transform_into_events(copy.deepcopy(records), shard_id)
    return [float(poller.get_approximate_arrival_time(event)) for event in events]


def by_window(
    poller: Any, shard_id: str, records: list[dict[str, Any]], seconds: int
) -> Iterator[tuple[float, list[dict[str, Any]]]]:
    """The records cut into runs of one window each, in order, with each run's window start."""
    starts = [window_start(arrival, seconds) for arrival in arrivals(poller, shard_id, records)]
    begin = 0
    for index in range(1, len(records) + 1):
        if index == len(records) or starts[index] != starts[begin]:
            yield starts[begin], records[begin:index]
            begin = index


def forward_events_to_target(original: Callable[..., None], poller: Any, shard_id: str, records: Any) -> None:
    """The patched StreamPoller.forward_events_to_target: each window's records with their window and state."""
    seconds = window_seconds(poller)
    if not seconds or not records:
        original(poller, shard_id, records)
        return
    windows = open_windows(poller)
    for start, run in by_window(poller, shard_id, list(records), seconds):
        window = windows.get(shard_id)
        if window is not None and window.start != start:
            close(poller, shard_id, window)
            window = None
        if window is None:
            window = windows[shard_id] = Window(start, start + seconds)
        with invoking_for(window, shard_id, poller.source_arn):
            original(poller, shard_id, run)


def poll_events_from_shard(
    original: Callable[..., None], poller: Any, shard_id: str, shard_iterator: str
) -> None:
    """The patched StreamPoller.poll_events_from_shard: a window whose end has passed is closed."""
    original(poller, shard_id, shard_iterator)
    if not window_seconds(poller):
        return
    window = open_windows(poller).get(shard_id)
    if window is None or time.time() < window.end + GRACE_S:
        return
    batcher = poller.shard_batcher.get(shard_id) if hasattr(poller.shard_batcher, "get") else None
    if batcher is not None and getattr(batcher, "_batch", None):
        return  # records of the window may still wait for the batching window: they go first
    close(poller, shard_id, window)


def close(poller: Any, shard_id: str, window: Window) -> None:
    """The window's final invocation, retried until it succeeds; then its state is dropped."""
    from localstack.utils.backoff import ExponentialBackoff

    window.final = True
    backoff = ExponentialBackoff(max_retries=-1)  # type: ignore[call-arg]  # pydantic defaults
    while not poller._is_shutdown.is_set():
        try:
            with invoking_for(window, shard_id, poller.source_arn):
                poller.processor.process_events_batch([])
        except Exception as error:
            LOG.warning(
                "final invocation of window %s of %s failed (%s); retrying",
                iso(window.start),
                shard_id,
                error,
            )
            poller._is_shutdown.wait(backoff.next_backoff())
            continue
        break
    open_windows(poller).pop(shard_id, None)


# --- the sender ---


def send_events(original: Callable[..., Any], sender: Any, events: Any) -> Any:
    """The patched LambdaSender.send_events: the event carries the window; the response must carry the state."""
    from localstack.services.lambda_.event_source_mapping.senders.sender import (
        PartialFailureSenderError,
        SenderError,
    )

    invoking = current()
    if invoking is None or not sender.payload_dict:
        return original(sender, events)
    payload = {"Records": events, **invoking.window.event_fields(invoking.shard_id, invoking.source_arn)}
    sender.payload_dict = False  # the payload is whole already; one poller thread uses this sender
    try:
        response = original(sender, payload)
    except PartialFailureSenderError as failure:
        keep_state(invoking.window, failure.partial_failure_payload, SenderError)
        raise
    finally:
        sender.payload_dict = True
    keep_state(invoking.window, response, SenderError)
    return response


def keep_state(window: Window, response: Any, failed: type[Exception]) -> None:
    """The response's state becomes the window's; a response without one is a failed invocation (AWS)."""
    state = response.get("state") if isinstance(response, dict) else None
    if not isinstance(state, dict):
        raise failed(
            "the function's response has no state: with a tumbling window, Lambda counts that as a failed invocation",
            {"message": "Response has no state", "functionError": "Unhandled", "httpStatusCode": 200},
        )
    window.state = json.loads(json.dumps(state))


# --- the worker factory ---


def get_esm_worker(original: Callable[..., Any], factory: Any) -> Any:
    """The patched EsmWorkerFactory.get_esm_worker: a stream poller knows its mapping's window."""
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    worker = original(factory)
    if isinstance(worker.poller, StreamPoller):
        worker.poller.stream_parameters[WINDOW_PARAMETER] = int(factory.esm_config.get(WINDOW_PARAMETER) or 0)
    return worker


_applied: list[Any] = []  # the patches in place


def apply() -> None:
    """Patch LocalStack in memory (never on disk), unless SHARDSAFE_LOCALSTACK_TUMBLING_WINDOW is 0; idempotent."""
    if _applied or not tumbling_window_enabled():
        return
    from localstack.services.lambda_.event_source_mapping.esm_worker_factory import EsmWorkerFactory
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller
    from localstack.services.lambda_.event_source_mapping.senders.lambda_sender import LambdaSender
    from localstack.utils.patch import Patch

    for patch in (
        Patch.function(EsmWorkerFactory.get_esm_worker, get_esm_worker),
        Patch.function(StreamPoller.forward_events_to_target, forward_events_to_target),
        Patch.function(StreamPoller.poll_events_from_shard, poll_events_from_shard),
        Patch.function(LambdaSender.send_events, send_events),
    ):
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
