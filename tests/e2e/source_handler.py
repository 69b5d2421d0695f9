"""The function the queue and table end-to-end tests deploy: shardsafe's processor, every outcome by record identity.

Every record the tests send carries an id (a queue message's JSON body ``{"id", "kind"}``, a table
item's ``pk`` and ``kind``). What the function leaves behind, in ``E2E_OUTPUT_BUCKET``:

- ``processed/<id>``: a record of kind ``good``, with the record's payload (a message's body, a
  stream record's JSON) byte for byte;
- ``invocations/<uuid>.json``: one object per invocation with its start and end (epoch seconds), so
  a test can tell how many invocations ran at once. ``E2E_HOLD_SECONDS`` keeps each invocation
  running that long, so that concurrent ones overlap measurably.

Anything else (a body that is not JSON, a kind other than good) is poison: shardsafe quarantines it
with its payload. Deployed as ``source_handler.py`` next to shardsafe in the Lambda zip.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from shardsafe import Record, StreamProcessor

HANDLER = "source_handler.lambda_handler"
PROCESSED_PREFIX = "processed/"
INVOCATIONS_PREFIX = "invocations/"


class PoisonRecord(ValueError):
    """A record of a kind the function does not process: quarantined."""


def record_id_and_kind(data: Any) -> tuple[str | None, str | None]:
    """The id and kind of a queue message's JSON body (``id``) or a DynamoDB record's item (``pk``)."""
    if isinstance(data, dict):
        return data.get("id", data.get("pk")), data.get("kind")
    return None, None


def process(record: Record) -> object:
    record_id, kind = record_id_and_kind(record.data)
    if record_id is None or kind != "good":
        raise PoisonRecord(f"record {record_id!r} is of kind {kind!r}, not good")
    return record_id


def write_batch(records: list[Record]) -> None:
    bucket = os.environ["E2E_OUTPUT_BUCKET"]
    for record in records:
        record_id, _ = record_id_and_kind(record.data)
        _s3().put_object(Bucket=bucket, Key=f"{PROCESSED_PREFIX}{record_id}", Body=record.payload)


_client = None


def _s3() -> Any:
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(process, batch_handler=write_batch, poison=(PoisonRecord,))


def lambda_handler(event: object, context: object) -> object:
    started = time.time()
    time.sleep(float(os.environ.get("E2E_HOLD_SECONDS", "0")))
    result = processor(event, context)
    timing = {"start": started, "end": time.time(), "records": len(event.get("Records", []))}  # type: ignore[attr-defined]
    _s3().put_object(
        Bucket=os.environ["E2E_OUTPUT_BUCKET"],
        Key=f"{INVOCATIONS_PREFIX}{uuid.uuid4()}.json",
        Body=json.dumps(timing).encode(),
    )
    return result


def read_outcomes(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    """What the function wrote under ``prefix`` (PROCESSED_PREFIX, INVOCATIONS_PREFIX), by key after it; read by the tests."""
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix) :]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found
