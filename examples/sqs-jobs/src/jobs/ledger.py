"""The job's ledger in S3: what a task run posts, and what a report reads back.

A run of a task posts one entry, ``ledger/<job>/<task_id>/<run id>.json``, as a payment or an email
would be sent: a task run twice posts twice, and the job's total is wrong. The producer writes the
job's manifest, ``jobs/<job>.json`` (its tasks, and which were sent as poison or to crash), so a
report can tell what should have happened from what did.
"""

from __future__ import annotations

import json
from typing import Any

LEDGER = "ledger/"
JOBS = "jobs/"
CRASH_MARKERS = "crash-markers/"


def post(s3: Any, bucket: str, task: dict[str, Any], run_id: str) -> None:
    entry = {"job": task["job"], "task_id": task["task_id"], "amount": task["amount"], "run": run_id}
    key = f"{LEDGER}{task['job']}/{task['task_id']}/{run_id}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(entry).encode(), ContentType="application/json")


def entries(s3: Any, bucket: str, job: str) -> dict[str, list[dict[str, Any]]]:
    """Every entry posted for ``job``, by task id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{LEDGER}{job}/"):
        for item in page.get("Contents", []):
            entry = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            found.setdefault(entry["task_id"], []).append(entry)
    return found


def write_manifest(s3: Any, bucket: str, job: str, manifest: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=f"{JOBS}{job}.json", Body=json.dumps(manifest).encode())


def read_manifest(s3: Any, bucket: str, job: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        s3.get_object(Bucket=bucket, Key=f"{JOBS}{job}.json")["Body"].read()
    )
    return manifest
