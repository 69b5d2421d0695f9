"""``shardsafe redrive``: argument parsing and output around `shardsafe.redrive.redrive`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shardsafe.cli._common import aws_errors, bounded_int, client_factory, point_in_time, print_json
from shardsafe.cli.progress import Progress
from shardsafe.errors import InputError
from shardsafe.redrive import (
    FileTarget,
    MessageOutcome,
    RedriveFilter,
    RedriveResult,
    StreamTarget,
    Target,
    redrive,
    redrive_bucket,
    resolve_queue_url,
)

__all__ = ["add_parser", "run"]

KINDS = {"on-failure": "on_failure", "quarantine": "quarantine"}

EXAMPLES = """\
examples:
  shardsafe redrive --queue ticks-on-failure --to-file failed.jsonl --dry-run
  shardsafe redrive --queue ticks-on-failure --to-file failed.jsonl
  shardsafe redrive --queue ticks-on-failure --to-stream --reason RetryAttemptsExhausted --since 6h
  shardsafe redrive --queue ticks-quarantine --to-stream ticks-replay --reason invalid_json --limit 100
  shardsafe redrive --bucket ticks-failures --to-file failed.jsonl --dry-run
  shardsafe redrive --bucket ticks-failures --prefix aws/lambda/ --to-stream ticks-replay

Reasons are Lambda's condition for on-failure messages (RetryAttemptsExhausted, RecordAgeExceeded,
...) and shardsafe's reason for quarantined records (invalid_json, validation_error, ...).
From a bucket, Lambda's on-failure objects (aws/lambda/...) and quarantine envelopes kept in S3
(<claim-check prefix>envelopes/...) are redriven and deleted once written; a claim check's payload
object (.../payloads/...) is redriven, and deleted, with its envelope. Run one redrive of a bucket at
a time: unlike a queue, a bucket hides nothing from a second reader.
Exit status: 0 all redriven, 1 something kept or unrecoverable (see stderr), 2 bad input.
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "redrive",
        help="recover the records behind failure-queue messages or failure-bucket objects and re-put "
        "them or write them to a file",
        description=(
            "Read Lambda on-failure records and shardsafe quarantine envelopes from an SQS queue or an\n"
            "S3 failure bucket, recover their records (from the S3 object, from the envelope or its\n"
            "claim check, or from the stream while it still retains them) and re-put them or append\n"
            "them to a JSON Lines file. A message or object is deleted only after all its records are\n"
            "written. Warnings and unrecoverable records go to stderr as JSON lines."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_argument_group("source (one of)").add_mutually_exclusive_group(required=True)
    source.add_argument("--queue", help="the failure queue: URL, ARN or name")
    source.add_argument("--bucket", metavar="NAME", help="the failure bucket (S3 on-failure destination)")
    parser.add_argument(
        "--prefix",
        default="",
        metavar="PREFIX",
        help="with --bucket: only objects whose key starts with PREFIX (e.g. aws/lambda/, claim-checks/)",
    )
    target = parser.add_argument_group("target (one of)").add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--to-stream",
        nargs="?",
        const="",
        metavar="STREAM",
        help="re-put the records with their partition keys, in order per key, to the stream they came "
        "from, or to STREAM (name or ARN)",
    )
    target.add_argument(
        "--to-file",
        metavar="FILE",
        help="append the records to a JSON Lines file (data in base64) for inspection",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would happen; write and delete nothing"
    )
    parser.add_argument(
        "--accept-partial",
        action="store_true",
        help="when some of a message's records are unrecoverable (trimmed), redrive the rest and delete "
        "the message; by default such a message is kept and nothing of it written",
    )
    filters = parser.add_argument_group("filters")
    filters.add_argument("--reason", action="append", default=[], help="only this reason (repeatable)")
    filters.add_argument(
        "--shard", action="append", default=[], metavar="SHARD_ID", help="only this shard (repeatable)"
    )
    filters.add_argument(
        "--kind", action="append", default=[], choices=sorted(KINDS), help="only this kind of message"
    )
    filters.add_argument(
        "--since",
        type=point_in_time,
        metavar="WHEN",
        help="only failures at or after WHEN: ISO 8601 or an age (2h, 7d)",
    )
    filters.add_argument("--until", type=point_in_time, metavar="WHEN", help="only failures before WHEN")
    filters.add_argument(
        "--limit",
        metavar="N",
        type=bounded_int("--limit", 1, "how many messages to redrive at most, 1 or more"),
        help="redrive at most N messages",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=bounded_int("--visibility-timeout", 1, "seconds, 1 or more"),
        default=300,
        metavar="SECONDS",
        help="hide messages from other readers this long while redriving (default: 300)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=bounded_int("--wait-seconds", 0, "seconds, 0 to 20"),
        default=1,
        metavar="SECONDS",
        help="long-poll wait for each receive; the run ends on an empty receive (default: 1)",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr even when it is not a terminal",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.wait_seconds > 20:
        raise InputError(f"--wait-seconds {args.wait_seconds} is above SQS's maximum of 20")
    if args.since and args.until and args.since >= args.until:
        raise InputError(f"--since {args.since.isoformat()} is not before --until {args.until.isoformat()}")
    if args.prefix and args.bucket is None:
        raise InputError(f"--prefix {args.prefix!r} selects objects of a bucket: give --bucket NAME as well")
    make = client_factory(args)
    with aws_errors("AWS clients"):
        s3, kinesis = make("s3"), make("kinesis")
        sqs = make("sqs") if args.queue is not None else None
    target: Target
    if args.to_file is not None:
        path = Path(args.to_file)
        if not path.parent.is_dir():
            raise InputError(
                f"--to-file {path}: folder {path.parent} does not exist; create it or pick another path"
            )
        target = FileTarget(path)
    else:
        target = StreamTarget(kinesis, args.to_stream or None)
    filters = RedriveFilter(
        reasons=frozenset(args.reason),
        shards=frozenset(args.shard),
        kinds=frozenset(KINDS[kind] for kind in args.kind),
        since=args.since,
        until=args.until,
    )
    unit = "objects" if args.bucket is not None else "messages"
    progress = Progress(None, unit=unit) if args.progress or sys.stderr.isatty() else None

    def show(outcome: MessageOutcome) -> None:
        if progress is not None:
            progress.clear()  # the line goes above the bar, not through it
        print(outcome.line(), flush=True)

    def advance(done: int, total: int | None) -> None:
        if progress is not None:
            progress.total = total
            progress.advance(done - progress.done)

    options: dict[str, Any] = {
        "filters": filters,
        "limit": args.limit,
        "dry_run": args.dry_run,
        "accept_partial": args.accept_partial,
        "on_outcome": show if args.output == "text" else None,
        "on_progress": advance,
    }
    result: RedriveResult
    try:
        if args.bucket is not None:
            with aws_errors(f"bucket {args.bucket}"):
                result = redrive_bucket(s3, kinesis, args.bucket, target, prefix=args.prefix, **options)
        else:
            with aws_errors(f"queue {args.queue}"):
                queue_url = resolve_queue_url(sqs, args.queue)
            with aws_errors("redrive"):
                result = redrive(
                    sqs,
                    kinesis,
                    queue_url,
                    target,
                    s3=s3,
                    visibility_timeout_s=args.visibility_timeout,
                    wait_time_s=args.wait_seconds,
                    **options,
                )
    finally:
        if progress is not None:
            progress.close()
    if args.output == "json":
        print_json(result.to_json())
    else:
        print(result.summary())
    if not result.clean:
        print(
            f"shardsafe redrive: {result.messages_kept} {unit} kept and {result.records_unrecoverable} records "
            "unrecoverable; the lines above and the JSON on stderr say which and why",
            file=sys.stderr,
        )
    return 0 if result.clean else 1
