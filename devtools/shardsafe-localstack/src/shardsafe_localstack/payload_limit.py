"""The 6 MB payload limit on a stream batch, which LocalStack's batching window does not apply.

AWS ("How Lambda processes records from stream and queue-based event sources", batching behavior:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html) invokes the
function when the batching window expires, the batch size is met, or the payload reaches 6 MB.
LocalStack 2026.3.0 does the first two (``StreamPoller.poll_events_from_shard`` gathers records per
shard in a ``Batcher(max_count=BatchSize, max_window=MaximumBatchingWindowInSeconds)``; the TODO
about the window in ``forward_events_to_target`` is stale) but not the third: a window that
gathers many large records hands the function a payload AWS would have cut. This module cuts
each batch, in order, into runs whose invocation payload stays within 6 MB.

The size is estimated per record as the JSON of the event the function gets, plus
RECORD_OVERHEAD bytes for the source metadata LocalStack adds after filtering; one record is never
cut (a Kinesis record is at most 1 MB of data).

Not emulated, and said here so nobody looks for it: AWS starts the next window of a Kinesis or
DynamoDB mapping when the previous invocation completes; LocalStack's Batcher restarts it when the
batch is taken, just before the invocation, so a window here ends earlier by the invocation's
duration.

Switch: ``SHARDSAFE_LOCALSTACK_PAYLOAD_LIMIT`` in LocalStack's environment (``1``/``0``, default ``1``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from shardsafe_localstack.switches import switch

PAYLOAD_LIMIT_ENV = "SHARDSAFE_LOCALSTACK_PAYLOAD_LIMIT"
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024  # AWS's synchronous invocation payload limit
RECORD_OVERHEAD = 512  # eventSourceARN, eventSource, awsRegion, eventName, ... and a separator


def payload_limit_enabled() -> bool:
    return switch(PAYLOAD_LIMIT_ENV)


def runs_within(sizes: Sequence[int], limit: int = PAYLOAD_LIMIT_BYTES) -> Iterator[slice]:
    """Consecutive runs of records whose sizes add up to at most ``limit``; a run has at least one."""
    start, total = 0, len('{"Records": []}')
    for index, size in enumerate(sizes):
        if index > start and total + size > limit:
            yield slice(start, index)
            start, total = index, len('{"Records": []}')
        total += size
    if start < len(sizes):
        yield slice(start, len(sizes))


def event_size(poller: Any, shard_id: str, record: dict[str, Any]) -> int:
    # A copy: DynamoDBPoller.transform_into_events changes the record in place (its creation time
    # becomes a number), and the record is transformed again when it is forwarded.
    (event,) = poller.transform_into_events([copy.deepcopy(record)], shard_id)
    return len(json.dumps(event, default=str)) + RECORD_OVERHEAD


def forward_events_to_target(original: Callable[..., None], poller: Any, shard_id: str, records: Any) -> None:
    """The patched StreamPoller.forward_events_to_target: one call per run within the payload limit."""
    if not payload_limit_enabled() or not records:
        original(poller, shard_id, records)
        return
    sizes = [event_size(poller, shard_id, record) for record in records]
    for run in runs_within(sizes):
        original(poller, shard_id, records[run])


_applied: list[Any] = []  # the patch in place


def apply() -> None:
    """Patch LocalStack in memory (never on disk); idempotent. SwitchError for a bad switch value."""
    if _applied:
        return
    payload_limit_enabled()
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller
    from localstack.utils.patch import Patch

    patch = Patch.function(StreamPoller.forward_events_to_target, forward_events_to_target)
    patch.apply()
    _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
