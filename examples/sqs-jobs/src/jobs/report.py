"""How a job went: ``python -m jobs.report --help``. Exits 0 when every task ran exactly once and every
poison task was quarantined, 1 when a task ran twice, 2 while tasks are still to run or be quarantined.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jobs import ledger

DONE, DOUBLE, PENDING = 0, 1, 2


def quarantined(sqs: Any, queue_url: str, job: str) -> dict[str, str]:
    """The job's tasks in the quarantine queue, with the reason; the messages stay in the queue."""
    from shardsafe import parse_envelope

    found: dict[str, str] = {}
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return found
        for message in fresh:
            seen.add(message["MessageId"])
            envelope = parse_envelope(message["Body"])
            payload = envelope.payload_bytes() if envelope is not None else None
            try:
                task = json.loads(payload) if payload else None
            except ValueError:
                continue
            if isinstance(task, dict) and task.get("job") == job and envelope is not None:
                found[str(task.get("task_id"))] = envelope.reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.report", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="the jobs bucket (terraform output jobs_bucket_name)")
    parser.add_argument("--quarantine-queue-url", required=True, help="terraform output quarantine_queue_url")
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)

    import boto3  # type: ignore[import-untyped]

    s3 = boto3.client("s3")
    manifest = ledger.read_manifest(s3, args.bucket, args.job)
    posted = ledger.entries(s3, args.bucket, args.job)
    held = quarantined(boto3.client("sqs"), args.quarantine_queue_url, args.job)
    expected: dict[str, int] = manifest["tasks"]
    once = sorted(task for task in expected if len(posted.get(task, [])) == 1)
    twice = sorted(task for task in posted if len(posted[task]) > 1)
    never = sorted(task for task in expected if task not in posted)
    poison_held = sorted(task for task in manifest["poison"] if task in held)
    total = sum(entry["amount"] for runs in posted.values() for entry in runs)
    print(
        f"{args.job}: {len(expected)} tasks, {len(once)} ran once, {len(twice)} ran more than once, "
        f"{len(never)} not run yet; {len(poison_held)} of {len(manifest['poison'])} poison tasks quarantined; "
        f"ledger total {total} (expected {sum(expected.values())})"
    )
    for task in manifest["crash_once"]:
        print(f"  {task}: killed the worker once, then ran {len(posted.get(task, []))} time(s)")
    for task in manifest["sent_twice"]:
        print(f"  {task}: sent twice, ran {len(posted.get(task, []))} time(s)")
    for task, reason in sorted(held.items()):
        print(f"  {task}: quarantined ({reason})")
    for task in twice:
        print(f"  {task}: ran {len(posted[task])} times")
    if twice:
        return DOUBLE
    if never or len(poison_held) < len(manifest["poison"]):
        return PENDING
    return DONE


if __name__ == "__main__":
    sys.exit(main())
