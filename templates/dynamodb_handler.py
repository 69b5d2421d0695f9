"""A shardsafe Lambda handler for a DynamoDB table's stream: copy this file and put your business logic in ``process``.

Deployed as ``dynamodb_handler.py`` at the root of the Lambda zip (``make package`` ships every template),
with the Lambda handler ``dynamodb_handler.lambda_handler`` (examples/dynamodb-stream deploys it). What it
does for each batch:

1. reads each stream record's item as Python values (numbers as ``Decimal``, sets as ``set``, binary as
   ``bytes``): the new image; for a ``REMOVE``, the item as it was. It validates the item as an order
   ``{"pk": str, "amount": number}``; a record whose item does not validate is poison: logged,
   quarantined whole on ``SHARDSAFE_QUARANTINE_QUEUE_URL``, and skipped;
2. runs ``process`` on each valid change;
3. if ``SHARDSAFE_OUTPUT_BUCKET`` is set, writes each processed record as one JSON object,
   ``s3://<bucket>/processed/<table>/<sequenceNumber>.json``. A record's key is the same on every
   delivery, so a retried or split batch overwrites its objects instead of duplicating them.
"""

from __future__ import annotations

import base64
import json
import os
from decimal import Decimal

from shardsafe import DynamoDBRecord, FieldSchema, RetryableError, StreamProcessor

# The item of a valid record. DynamoDB numbers are Decimal; an int or a float is not what the table sends.
ORDER = FieldSchema({"pk": str, "amount": Decimal})


class OutputUnavailable(RetryableError):
    """Writing a record's output failed: retry it (and, in stream order, what follows), do not quarantine it."""


def process(record: DynamoDBRecord) -> object:
    """Business logic for one valid change. ``record.data`` is the item; ``record.event_name`` says what
    happened to it (``INSERT``, ``MODIFY``, ``REMOVE``), ``record.is_ttl_delete`` whether Time to Live
    removed it, ``record.keys``, ``record.new_image`` and ``record.old_image`` give the rest.

    Connection errors, timeouts and AWS throttling are retried by themselves; raise ``RetryableError``
    for any other transient failure. Any other exception quarantines this record only.
    """
    order = record.data
    # --- your business logic goes here ---
    return order


def write_output(record: DynamoDBRecord) -> None:
    """One JSON object per record, keyed by table and sequence number, if a bucket is set."""
    bucket = os.environ.get("SHARDSAFE_OUTPUT_BUCKET")
    if not bucket:
        return
    key = f"processed/{record.table_name}/{record.sequence_number}.json"
    document = {
        "table": record.table_name,
        "sequenceNumber": record.sequence_number,
        "eventName": record.event_name,
        "ttlDelete": record.is_ttl_delete,
        "approximateCreationDateTime": record.approximate_creation_time,
        "keys": record.keys,
        "item": record.data,
    }
    body = json.dumps(document, default=plain, allow_nan=False, sort_keys=True).encode()
    try:
        _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as error:
        raise OutputUnavailable(f"cannot write s3://{bucket}/{key}: {error}") from error


def plain(value: object) -> object:
    """What JSON cannot write, as JSON: a number as a number (as text when a float would change it), a set as
    a sorted list, bytes as base64."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)  # a DynamoDB set holds one type
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def handle(record: DynamoDBRecord) -> object:
    result = process(record)
    write_output(record)
    return result


_client = None


def _s3():  # -> botocore S3 client
    """The S3 client, created on first use so that a cold start without output does not import boto3."""
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3  # lazy: boto3 costs a few hundred ms to import

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(handle, validate=ORDER)


def lambda_handler(event: object, context: object) -> object:
    """The Lambda entry point; always succeeds (see ``processor`` for what happens to each record)."""
    return processor(event, context)
