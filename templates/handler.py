"""A shardsafe Lambda handler: copy this file and put your business logic in ``process``.

Deployed as ``handler.py`` at the root of the Lambda zip (``make package``), with the Lambda
handler ``handler.lambda_handler``. What it does for each batch:

1. decodes every record as a JSON object and validates it as a stock tick
   ``{"EVENT_TIME": str, "TICKER": str, "PRICE": number}``; anything else is poison: logged,
   quarantined with its payload on ``SHARDSAFE_QUARANTINE_QUEUE_URL``, and skipped;
2. runs ``process`` on each valid tick;
3. if ``SHARDSAFE_OUTPUT_BUCKET`` is set, writes the processed records as one JSON Lines object:
   ``s3://<bucket>/processed/<shardId>/<first>-<last>.jsonl``, named by the first and last record's
   sequence number (for an SQS queue, ``processed/<queue>/<first>-<last>.jsonl`` by message id). The
   user records of a KPL aggregate share its sequence number; each line gives its
   ``subSequenceNumber``, and an object's name gives it after the sequence number (``<seq>.<sub>``).

Lambda delivers a record more than once when a batch is retried, split after a crash or a timeout,
or partly handed back, and an SQS queue may deliver a message twice. Whether the output then has
the record twice:

- with an idempotency table (``SHARDSAFE_IDEMPOTENCY_TABLE``, which the Terraform module sets with
  ``idempotency_table = { create = true }``), no: each record's key is claimed before it is handled
  and marked done when its object is written, and a record delivered again within a day (the key's
  time to live) is skipped. One window is left: if the function dies between writing an object and
  marking its records done (one S3 call, then one DynamoDB call), those records are written again,
  in another object, once their claim ends with the invocation that died;
- without one, yes, whenever a delivery's batch differs from the one that was written (a split or
  shifted batch, an SQS message delivered twice): the record is written again, in another object.
  Only a batch delivered again exactly as it was overwrites its own object.
"""

from __future__ import annotations

import json
import os

from shardsafe import FieldSchema, Idempotency, Record, RetryableError, StreamProcessor

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
    """After the batch: one JSON Lines object per shard (or queue) with every processed record, if a bucket is set."""
    bucket = os.environ.get("SHARDSAFE_OUTPUT_BUCKET")
    if not bucket:
        return
    by_place: dict[str, list[tuple[str, dict[str, object]]]] = {}
    for record in records:
        where = record.describe()  # the same coordinates for every source (None where it has none)
        line: dict[str, object] = {
            "sequenceNumber": where["sequenceNumber"],
            **_sub_sequence(where),
            "partitionKey": where["partitionKey"],
            "data": record.data,
        }
        if where.get("messageId"):
            line["messageId"] = where["messageId"]
        place = where["shardId"] or _resource(where["eventSourceArn"]) or "unknown"
        # A KPL user record shares its aggregate's sequence number: its place is <seq>.<sub>.
        sub = where.get("subSequenceNumber")
        position = str(record.item_identifier) if sub is None else f"{record.item_identifier}.{sub}"
        by_place.setdefault(str(place), []).append((position, line))
    for place, lines in by_place.items():
        key = f"processed/{place}/{lines[0][0]}-{lines[-1][0]}.jsonl"
        # allow_nan=False: strict readers reject NaN; a record whose handler made one fails here, alone
        body = ("\n".join(json.dumps(line, allow_nan=False) for _, line in lines) + "\n").encode()
        try:
            _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        except Exception as error:
            raise OutputUnavailable(f"cannot write s3://{bucket}/{key}: {error}") from error


def _sub_sequence(where: dict[str, object]) -> dict[str, object]:
    """A KPL user record's place in its aggregate (whose sequence number it shares); nothing for others."""
    sub = where.get("subSequenceNumber")
    return {} if sub is None else {"subSequenceNumber": sub}


def _resource(arn: object) -> str | None:
    """An ARN's resource part (a queue's name, ``table/<name>/stream/<label>``), for an object's path."""
    return arn.split(":", 5)[5] if isinstance(arn, str) and arn.count(":") >= 5 else None


_client = None


def _s3():  # -> botocore S3 client
    """The S3 client, created on first use so that a cold start without output does not import boto3."""
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3  # lazy: boto3 costs a few hundred ms to import

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(
    process,
    batch_handler=write_batch,
    validate=STOCK_TICK,
    # The module's idempotency_table sets the variable; without it no record is keyed or looked up.
    idempotency=Idempotency() if os.environ.get("SHARDSAFE_IDEMPOTENCY_TABLE") else None,
)


def lambda_handler(event: object, context: object) -> object:
    """The Lambda entry point; always succeeds (see ``processor`` for what happens to each record)."""
    return processor(event, context)
