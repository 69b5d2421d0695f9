"""The worker: the Lambda function that runs each task of a job once, however often SQS delivers it.

SQS delivers a message at least once, a crashed or timed-out invocation's messages come back after the
visibility timeout, and a producer that retries a send puts the same task on the queue twice under a
new message id. shardsafe's idempotency layer keys each message on its task id (the payload, not the
message id), claims the batch's task ids in the table the module creates, and skips a task that was
run before: each task's ledger entry is posted once, unless the worker dies between posting it and
the task being marked done (then the task runs again: the README says so). A task that is not a task (a missing field, an
amount that is not a whole number) is quarantined with its payload, and the batch goes on.

Handler: ``jobs.worker.lambda_handler``. Environment: ``JOBS_BUCKET`` (the ledger), and what the
module sets (``SHARDSAFE_IDEMPOTENCY_TABLE``, the quarantine queue).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from jobs import ledger
from shardsafe import FieldSchema, Idempotency, Record, StreamProcessor

TASK = FieldSchema({"job": str, "task_id": str, "amount": int})


def run_task(record: Record) -> str:
    task = record.data
    bucket = os.environ["JOBS_BUCKET"]
    if task.get("crash_once"):
        die_the_first_time(bucket, task["task_id"])
    run_id = uuid.uuid4().hex
    ledger.post(_s3(), bucket, task, run_id)  # the side effect that must happen once
    return run_id


def die_the_first_time(bucket: str, task_id: str) -> None:
    """The demonstration's crash: the first run of this task kills the worker's process (as an
    out-of-memory kill or a segfault would) before it posts; later runs go through."""
    s3 = _s3()
    marker = f"{ledger.CRASH_MARKERS}{task_id}"
    try:
        s3.head_object(Bucket=bucket, Key=marker)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.put_object(Bucket=bucket, Key=marker, Body=b"")
        print(f"jobs: task {task_id} kills the worker (crash_once)", flush=True)
        os._exit(70)


_client: Any = None


def _s3() -> Any:
    global _client  # noqa: PLW0603 - one client per execution environment
    if _client is None:
        import boto3  # the Lambda runtime provides it; imported when the first task runs

        _client = boto3.client("s3")
    return _client


processor = StreamProcessor(
    run_task,
    validate=TASK,
    # The task id names the work: a task the producer sent twice is run once. The table is the
    # module's (idempotency_table = { create = true } sets SHARDSAFE_IDEMPOTENCY_TABLE).
    idempotency=Idempotency(key=lambda record: record.data["task_id"]),
)


def lambda_handler(event: object, context: object) -> object:
    return processor(event, context)
