"""A shardsafe Lambda handler for a tumbling window: copy this file and put your aggregation in ``aggregate``.

Deployed as ``window_handler.py`` at the root of the Lambda zip (``make package`` ships every template),
with the Lambda handler ``window_handler.lambda_handler`` (examples/tumbling-window deploys it) on a
Kinesis mapping with ``tumbling_window_in_seconds`` set. What it does for each batch:

1. decodes and validates each record as a stock tick, as templates/handler.py does; poison is
   quarantined and never counts;
2. adds the batch's valid ticks to the window's state, a count per partition key (AWS's own example),
   and returns the new state: Lambda hands it to the window's next invocation;
3. on the window's final invocation, if ``SHARDSAFE_OUTPUT_BUCKET`` is set, writes the window's counts as
   one object, ``s3://<bucket>/windows/<shardId>/<window start>.json``: a retried final invocation, or
   each part of a final batch split to find a record the aggregation fails on, writes the running total
   to the same key, so the last write holds the whole window.
"""

from __future__ import annotations

import json
import os

from shardsafe import FieldSchema, KinesisRecord, RetryableError, StreamProcessor, TumblingWindow

STOCK_TICK = FieldSchema({"EVENT_TIME": str, "TICKER": str, "PRICE": float})


class OutputUnavailable(RetryableError):
    """Writing the window's result failed: Lambda invokes the final invocation again."""


def aggregate(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, object]:
    """The window's new state from its state so far and this batch's valid records.

    The state must be JSON (int, float, str, list, dict) and stays under 1 MB. Raise ``RetryableError``
    (or let a timeout through) to have the batch retried; any other exception quarantines the records
    it fails on, found by bisection.
    """
    counts: dict[str, int] = dict(window.state.get("counts", {}))
    for record in records:
        key = record.partition_key or "none"
        counts[key] = counts.get(key, 0) + 1
    batches = int(window.state.get("batches", 0)) + (1 if records else 0)
    state: dict[str, object] = {"counts": counts, "batches": batches}
    if window.is_final:
        # A final batch split in parts (a record the aggregation fails on) calls this once per part, each
        # with the state so far: the running total goes to one key, so the last write holds the whole window.
        write_result(window, state)
    return state  # Lambda hands it to the next invocation (after the final one it drops it)


def write_result(window: TumblingWindow, state: dict[str, object]) -> None:
    bucket = os.environ.get("SHARDSAFE_OUTPUT_BUCKET")
    if not bucket:
        return
    key = f"windows/{window.shard_id}/{window.start}.json"
    document = {
        "window": {"start": window.start, "end": window.end},
        "shardId": window.shard_id,
        "terminatedEarly": window.terminated_early,
        **state,
    }
    try:
        _s3().put_object(
            Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
        )
    except Exception as error:
        raise OutputUnavailable(f"cannot write s3://{bucket}/{key}: {error}") from error


_client = None


def _s3():  # -> botocore S3 client
    """The S3 client, created on first use so that a cold start does not import boto3."""
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3  # lazy: boto3 costs a few hundred ms to import

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(validate=STOCK_TICK, window_handler=aggregate)


def lambda_handler(event: object, context: object) -> object:
    """The Lambda entry point: ``{"batchItemFailures": [...], "state": {...}}``."""
    return processor(event, context)
