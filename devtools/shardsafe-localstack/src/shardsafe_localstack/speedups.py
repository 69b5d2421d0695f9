"""Patches to LocalStack's Lambda service (in memory, never on disk) that take its own costs off the hot path.

Measured with ``latency.py`` and the trace (``SHARDSAFE_LOCALSTACK_TRACE``) on LocalStack 2026.3.0:
after a warm invocation, LocalStack ships its logs to CloudWatch Logs and its ``Invocations``
metric to CloudWatch, each through an internal AWS client on a background thread; with two cores
and the GIL, that work ran during the next request and the response, and cost about 12 ms of a
warm invocation each. A stream mapping waited a poll interval after every batch, so one shard
delivered at most BatchSize records a poll interval. Each patch has a switch in LocalStack's
environment (on unless ``0``), read once when the plugin loads; off, LocalStack's code is left as
it is:

- ``SHARDSAFE_LOCALSTACK_BATCH_LOGS``: ``LogHandler.run_log_loop`` (invocation/logs.py) sends one
  PutLogEvents per log stream for the invocations of up to LOG_BATCH_WINDOW_S, not one per
  invocation; events keep the time LocalStack received them (stock: the time they were shipped).
- ``SHARDSAFE_LOCALSTACK_BATCH_METRICS``: ``record_cw_metric_invocation``/``record_cw_metric_error``
  (invocation/metrics.py, run by ``LambdaVersionManager.invoke`` on a new thread per invocation) count
  into one publisher that sends, every METRICS_FLUSH_S, one datapoint per function and metric as a
  statistic set (SampleCount = Sum = the count, Minimum = Maximum = 1): the same statistics as the
  stock datapoints of 1 each.
- ``SHARDSAFE_LOCALSTACK_POLL_AGAIN``: ``EsmWorker.poller_loop`` (event_source_mapping/esm_worker.py)
  polls again at once, instead of after ``LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC``, while a
  shard's last GetRecords came back full (as many records as the batch size): AWS polls a shard
  again at once while it has records ("If more records are available, Lambda keeps processing
  batches until the function catches up with the stream", Lambda developer guide, "How Lambda
  processes records from Amazon Kinesis Data Streams").
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from queue import Empty, Queue
from typing import Any

from shardsafe_localstack.switches import switch

LOG = logging.getLogger(__name__)

BATCH_LOGS_ENV = "SHARDSAFE_LOCALSTACK_BATCH_LOGS"
BATCH_METRICS_ENV = "SHARDSAFE_LOCALSTACK_BATCH_METRICS"
POLL_AGAIN_ENV = "SHARDSAFE_LOCALSTACK_POLL_AGAIN"
LOG_BATCH_WINDOW_S = 0.1
METRICS_FLUSH_S = 1.0
# PutLogEvents limits: 10,000 events and 1,048,576 bytes a call, each event counting 26 bytes more.
MAX_EVENTS_PER_PUT = 10_000
MAX_BYTES_PER_PUT = 1_048_576
EVENT_OVERHEAD_BYTES = 26


# --- Logs ---


def log_events(logs: str, timestamp_ms: int) -> list[dict[str, Any]]:
    """The CloudWatch events of one invocation's logs, as LocalStack makes them (no empty line, newline kept)."""
    return [{"timestamp": timestamp_ms, "message": line + "\n"} for line in logs.split("\n") if line]


def put_chunks(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``events`` in order, cut into chunks PutLogEvents accepts."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if chunks[-1] and (len(chunks[-1]) >= MAX_EVENTS_PER_PUT or size + event_size > MAX_BYTES_PER_PUT):
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += event_size
    return [chunk for chunk in chunks if chunk]


def add_logs(original: Callable[..., None], handler: Any, log_item: Any) -> None:
    """The patched LogHandler.add_logs: the item is queued with the time it arrived."""
    original(handler, _StampedItem(log_item, int(time.time() * 1000)))


class _StampedItem:
    def __init__(self, item: Any, timestamp_ms: int) -> None:
        self.item = item
        self.timestamp_ms = timestamp_ms


def run_log_loop(original: Callable[..., None], handler: Any, *args: Any, **kwargs: Any) -> None:
    """The patched LogHandler.run_log_loop: what arrives within LOG_BATCH_WINDOW_S goes in one put per stream."""
    from localstack.aws.connect import connect_to
    from localstack.services.lambda_.invocation.logs import QUEUE_SHUTDOWN
    from localstack.utils.aws.client_types import ServicePrincipal

    principal: Any = ServicePrincipal.lambda_  # a str enum member, typed as str in LocalStack
    logs_client = connect_to.with_assumed_role(
        region_name=handler.region, role_arn=handler.role_arn, service_principal=principal
    ).logs
    queue: Queue[Any] = handler.log_queue
    while not handler._shutdown_event.is_set():
        batch = [queue.get()]
        deadline = time.monotonic() + LOG_BATCH_WINDOW_S
        while batch[-1] is not QUEUE_SHUTDOWN and (remaining := deadline - time.monotonic()) > 0:
            try:
                batch.append(queue.get(timeout=remaining))
            except Empty:
                break
        streams: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for stamped in batch:
            if stamped is QUEUE_SHUTDOWN:
                continue
            item = stamped.item
            streams.setdefault((item.log_group, item.log_stream), []).extend(
                log_events(item.logs, stamped.timestamp_ms)
            )
        for (group, stream), events in streams.items():
            for chunk in put_chunks(events):
                _put_log_events(logs_client, handler.region, group, stream, chunk)
        if batch[-1] is QUEUE_SHUTDOWN:
            return


def _put_log_events(
    logs_client: Any, region: str, group: str, stream: str, events: list[dict[str, Any]]
) -> None:
    """PutLogEvents, creating the group and the stream when missing, as LogHandler.run_log_loop does."""
    try:
        try:
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        except logs_client.exceptions.ResourceNotFoundException:
            with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
                logs_client.create_log_group(logGroupName=group)
            logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
            logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    except Exception as error:
        LOG.warning("Error saving logs to group %s in region %s: %s", group, region, error)


# --- Metrics ---


class MetricsPublisher:
    """Counts Lambda's Invocations and Errors metrics and publishes them as statistic sets every flush_s."""

    def __init__(self, flush_s: float = METRICS_FLUSH_S) -> None:
        self.flush_s = flush_s
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def count(self, metric: str, function_name: str, account_id: str, region_name: str) -> None:
        with self._lock:
            self._counts[(account_id, region_name, function_name, metric)] += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="shardsafe-lambda-metrics", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.flush_s)
            self.flush()

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        for (account_id, region_name, function_name, metric), count in counts.items():
            self.publish(account_id, region_name, function_name, metric, count)

    @staticmethod
    def publish(account_id: str, region_name: str, function_name: str, metric: str, count: int) -> None:
        """One statistic set for ``count`` datapoints of 1, as publish_lambda_metric would send them one by one."""
        from datetime import UTC, datetime

        from localstack.aws.connect import connect_to
        from localstack.utils.bootstrap import is_api_enabled
        from localstack.utils.cloudwatch.cloudwatch_util import dimension_lambda

        if not is_api_enabled("cloudwatch"):
            return
        try:
            connect_to(aws_access_key_id=account_id, region_name=region_name).cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": dimension_lambda({"func_name": function_name}),
                        "Timestamp": datetime.now(UTC),
                        "StatisticValues": {"SampleCount": count, "Sum": count, "Minimum": 1, "Maximum": 1},
                    }
                ],
            )
        except Exception as error:
            LOG.info('Unable to put metric data for metric "%s" to CloudWatch: %s', metric, error)


METRICS = MetricsPublisher()


def record_invocation(function_name: str, account_id: str, region_name: str) -> None:
    """Replaces metrics.record_cw_metric_invocation in the version manager."""
    METRICS.count("Invocations", function_name, account_id, region_name)


def record_error(function_name: str, account_id: str, region_name: str) -> None:
    """Replaces metrics.record_cw_metric_error in the version manager."""
    METRICS.count("Invocations", function_name, account_id, region_name)
    METRICS.count("Errors", function_name, account_id, region_name)


def start_thread_unless_metric(
    original: Callable[..., Any], method: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """The version manager's start_thread: a metric is only counted now, so it needs no thread of its own."""
    if str(kwargs.get("name", "")).startswith("record-cloudwatch-metric"):
        method()
        return None
    return original(method, *args, **kwargs)


# --- Poll again ---


def get_records(original: Callable[..., dict[str, Any]], poller: Any, shard_iterator: str) -> dict[str, Any]:
    """The patched StreamPoller.get_records: notes whether the page came back full."""
    response = original(poller, shard_iterator)
    poller.shardsafe_page_full = len(response.get("Records", [])) >= poller.stream_parameters["BatchSize"]
    return response


def poll_events_from_shard(
    original: Callable[..., None], poller: Any, shard_id: str, shard_iterator: str
) -> None:
    """The patched StreamPoller.poll_events_from_shard: keeps the set of shards whose last page was full."""
    shards_with_more = shards_with_more_of(poller)
    shards_with_more.discard(shard_id)
    poller.shardsafe_page_full = False
    original(poller, shard_id, shard_iterator)
    if poller.shardsafe_page_full:
        shards_with_more.add(shard_id)


def shards_with_more_of(poller: Any) -> set[str]:
    if not hasattr(poller, "shardsafe_shards_with_more"):
        poller.shardsafe_shards_with_more = set()
    shards: set[str] = poller.shardsafe_shards_with_more
    return shards


class PollAgainEvent:
    """The ESM worker's shutdown event, whose wait between polls ends at once while a shard has more records."""

    def __init__(self, event: threading.Event, poller: Any) -> None:
        self.event = event
        self.poller = poller

    def wait(self, timeout: float | None = None) -> bool:
        if shards_with_more_of(self.poller) and not self.event.is_set():
            return False
        return self.event.wait(timeout)

    def set(self) -> None:
        self.event.set()

    def clear(self) -> None:
        self.event.clear()

    def is_set(self) -> bool:
        return self.event.is_set()


def poller_loop(original: Callable[..., None], worker: Any, *args: Any, **kwargs: Any) -> None:
    """The patched EsmWorker.poller_loop: a stream poller's worker polls again at once while a shard has more."""
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    if isinstance(worker.poller, StreamPoller) and not isinstance(worker._shutdown_event, PollAgainEvent):
        worker._shutdown_event = PollAgainEvent(worker._shutdown_event, worker.poller)
    original(worker, *args, **kwargs)


# --- Applying ---

_applied: list[Any] = []  # the patches in place


def patches() -> list[Any]:
    """The patches whose switch is on (SwitchError for a switch that is neither on nor off)."""
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller
    from localstack.services.lambda_.invocation import version_manager
    from localstack.services.lambda_.invocation.logs import LogHandler
    from localstack.utils.patch import Patch

    chosen = []
    if switch(BATCH_LOGS_ENV):
        chosen += [
            Patch.function(LogHandler.add_logs, add_logs),
            Patch.function(LogHandler.run_log_loop, run_log_loop),
        ]
    if switch(BATCH_METRICS_ENV):
        # The names the version manager imported, not those of metrics.py and utils/threads.py,
        # which the rest of LocalStack keeps using.
        chosen += [
            Patch(version_manager, "record_cw_metric_invocation", record_invocation),
            Patch(version_manager, "record_cw_metric_error", record_error),
            Patch(
                version_manager,
                "start_thread",
                functools.partial(start_thread_unless_metric, version_manager.start_thread),  # type: ignore[attr-defined]
            ),
        ]
    if switch(POLL_AGAIN_ENV):
        chosen += [
            Patch.function(StreamPoller.get_records, get_records),
            Patch.function(StreamPoller.poll_events_from_shard, poll_events_from_shard),
            Patch.function(EsmWorker.poller_loop, poller_loop),
        ]
    return chosen


def apply() -> None:
    """Apply the patches whose switch is on; idempotent."""
    if _applied:
        return
    for patch in patches():
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
