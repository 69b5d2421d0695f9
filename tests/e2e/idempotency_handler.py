"""The function the idempotency end-to-end tests deploy: each record's side effect is an S3 object.

Every record is a JSON object with an ``id``. Handling it writes ``effects/<id>/<unique>`` to
``E2E_EFFECTS_BUCKET``, so a test counts how many times each record was acted on by listing the
bucket. With ``SHARDSAFE_IDEMPOTENCY_TABLE`` set the processor has the idempotency layer on that
table; without it, none. What a record can ask for:

- ``"crash_once": true``: the first time, the process dies mid-batch (``os._exit``) after the
  records before it were handled, as a segfault or an out-of-memory kill would end it; a marker
  object (``crashed/<id>``) makes later deliveries go through;
- ``"hold": seconds``: the handler takes that long before its side effect (two invocations overlap).

Deployed as ``idempotency_handler.py`` next to shardsafe in the Lambda zip.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

from shardsafe import Idempotency, Record, StreamProcessor

HANDLER = "idempotency_handler.lambda_handler"
EFFECTS_PREFIX = "effects/"
CRASHED_PREFIX = "crashed/"


def act(record: Record) -> str:
    data = record.data
    record_id = str(data["id"])
    bucket = os.environ["E2E_EFFECTS_BUCKET"]
    if data.get("crash_once") and not _exists(bucket, f"{CRASHED_PREFIX}{record_id}"):
        _s3().put_object(Bucket=bucket, Key=f"{CRASHED_PREFIX}{record_id}", Body=b"")
        print(f"e2e: crashing on record {record_id}", flush=True)
        sys.stderr.flush()
        os._exit(70)
    if data.get("hold"):
        time.sleep(float(data["hold"]))
    _s3().put_object(Bucket=bucket, Key=f"{EFFECTS_PREFIX}{record_id}/{uuid.uuid4().hex}", Body=b"")
    return record_id


def _exists(bucket: str, key: str) -> bool:
    try:
        _s3().head_object(Bucket=bucket, Key=key)
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


_client: Any = None


def _s3() -> Any:
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(
    act, idempotency=Idempotency() if os.environ.get("SHARDSAFE_IDEMPOTENCY_TABLE") else None
)


def lambda_handler(event: object, context: object) -> object:
    return processor(event, context)
