"""Split a job into tasks and put them on the tasks queue: ``python -m jobs.producer --help``.

Each task is a message ``{"job", "task_id", "amount"}``. For the demonstration, ``--poison N`` makes N
tasks invalid (their amount is not a number: quarantined), ``--crash N`` makes N tasks kill the worker
the first time they run, and ``--duplicates N`` sends N tasks a second time under new message ids, as
a producer that retried a send would. The job's manifest goes to the bucket, for ``jobs.report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jobs import ledger


def tasks(job: str, count: int, poison: int, crash: int) -> list[dict[str, Any]]:
    """The job's tasks: the last ``poison`` are invalid, the ``crash`` before them crash once."""
    made: list[dict[str, Any]] = []
    for n in range(count):
        task: dict[str, Any] = {"job": job, "task_id": f"{job}-{n:04d}", "amount": n + 1}
        if n >= count - poison:
            task["amount"] = "not a number"
        elif n >= count - poison - crash:
            task["crash_once"] = True
        made.append(task)
    return made


def send(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(task)}
            for n, task in enumerate(messages[start : start + 10])
        ]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")
        if failed:
            raise SystemExit(f"SQS refused {len(failed)} tasks: {failed[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.producer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--queue-url", required=True, help="the tasks queue (terraform output tasks_queue_url)"
    )
    parser.add_argument("--bucket", required=True, help="the jobs bucket (terraform output jobs_bucket_name)")
    parser.add_argument(
        "--job", required=True, help="the job's name; task ids are <job>-0000, <job>-0001, ..."
    )
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--poison", type=int, default=0, help="tasks that are invalid: quarantined")
    parser.add_argument("--crash", type=int, default=0, help="tasks that kill the worker the first time")
    parser.add_argument(
        "--duplicates", type=int, default=0, help="tasks sent twice, as a retrying producer would"
    )
    args = parser.parse_args(argv)
    if args.poison + args.crash > args.tasks or min(args.tasks, args.poison, args.crash, args.duplicates) < 0:
        parser.error("--poison and --crash must be 0 or more and fit in --tasks")

    import boto3  # type: ignore[import-untyped]

    job = tasks(args.job, args.tasks, args.poison, args.crash)
    valid = [task for task in job if isinstance(task["amount"], int)]
    again = valid[: args.duplicates]
    ledger.write_manifest(
        boto3.client("s3"),
        args.bucket,
        args.job,
        {
            "tasks": {task["task_id"]: task["amount"] for task in valid},
            "poison": [task["task_id"] for task in job if task not in valid],
            "crash_once": [task["task_id"] for task in job if task.get("crash_once")],
            "sent_twice": [task["task_id"] for task in again],
        },
    )
    send(boto3.client("sqs"), args.queue_url, job + again)
    print(
        f"{args.job}: sent {len(job)} tasks ({args.poison} poison, {args.crash} crashing once) and {len(again)} again"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
