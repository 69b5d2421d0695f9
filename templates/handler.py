"""A shardsafe Lambda handler: copy this file and put your business logic in ``process``.

Deployed as ``handler.py`` at the root of the Lambda zip (``make package``), with the Lambda
handler ``handler.lambda_handler``. What it does for each batch:

1. decodes every record as a JSON object and validates it as a stock tick
   ``{"EVENT_TIME": str, "TICKER": str, "PRICE": number}``; anything else is poison: logged,
   quarantined with its payload on ``SHARDSAFE_QUARANTINE_QUEUE_URL``, and skipped;
2. runs ``process`` on each valid tick;
3. if ``SHARDSAFE_OUTPUT_BUCKET`` is set, writes the batch's processed records as one JSON Lines
   object per shard: ``s3://<bucket>/processed/<shardId>/<firstSeq>-<lastSeq>.jsonl``. A retried
   batch has the same sequence numbers, so it overwrites its object instead of duplicating it. The
   user records of a KPL aggregate share its sequence number; each line gives its ``subSequenceNumber``.
"""

from __future__ import annotations

import json
import os

from shardsafe import FieldSchema, Record, RetryableError, StreamProcessor

# The shape of a valid record. ("float" takes integers too; a bool is never a price.)
STOCK_TICK = FieldSchema({"EVENT_TIME": str, "TICKER": str, "PRICE": float})


class OutputUnavailable(RetryableError):
    """Writing the batch's output failed: retry the batch (from its first record), do not quarantine it."""


def process(record: Record) -> object:
    """Business logic for one valid tick; ``record.data`` is the decoded JSON object.

    Connection errors, timeouts and AWS throttling are retried by themselves; raise
    ``RetryableError`` (or a subclass) for any other transient failure. Any other exception
    quarantines this record only. ``async def process`` works too.
    """
    tick = record.data
    # --- your business logic goes here ---
    return tick


def write_batch(records: list[Record]) -> None:
    """After the batch: one JSON Lines object per shard with every processed record, if a bucket is set."""
    bucket = os.environ.get("SHARDSAFE_OUTPUT_BUCKET")
    if not bucket:
        return
    by_shard: dict[str, list[dict[str, object]]] = {}
    for record in records:
        where = record.describe()  # the same coordinates for every source (None where it has none)
        by_shard.setdefault(str(where["shardId"] or "unknown-shard"), []).append(
            {**where, "data": record.data}
        )
    for shard_id, shard_records in by_shard.items():
        first, last = shard_records[0]["sequenceNumber"], shard_records[-1]["sequenceNumber"]
        key = f"processed/{shard_id}/{first}-{last}.jsonl"
        lines = (
            # allow_nan=False: strict readers reject NaN; a record whose handler made one fails here, alone
            json.dumps(
                {
                    "sequenceNumber": r["sequenceNumber"],
                    **_sub_sequence(r),
                    "partitionKey": r["partitionKey"],
                    "data": r["data"],
                },
                allow_nan=False,
            )
            for r in shard_records
        )
        body = ("\n".join(lines) + "\n").encode()
        try:
            _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        except Exception as error:
            raise OutputUnavailable(f"cannot write s3://{bucket}/{key}: {error}") from error


def _sub_sequence(where: dict[str, object]) -> dict[str, object]:
    """A KPL user record's place in its aggregate (whose sequence number it shares); nothing for others."""
    sub = where.get("subSequenceNumber")
    return {} if sub is None else {"subSequenceNumber": sub}


_client = None


def _s3():  # -> botocore S3 client
    """The S3 client, created on first use so that a cold start without output does not import boto3."""
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3  # lazy: boto3 costs a few hundred ms to import

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(process, batch_handler=write_batch, validate=STOCK_TICK)


def lambda_handler(event: object, context: object) -> object:
    """The Lambda entry point; always succeeds (see ``processor`` for what happens to each record)."""
    return processor(event, context)
