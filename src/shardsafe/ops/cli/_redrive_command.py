"""``shardsafe redrive``: argument parsing and output around `shardsafe.ops.redrive.redrive`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shardsafe.ops.cli._common import aws_errors, bounded_int, client_factory, point_in_time, print_json
from shardsafe.ops.cli.progress import Progress
from shardsafe.ops.errors import InputError
from shardsafe.ops.redrive import (
    FileTarget,
    FunctionTarget,
    MessageOutcome,
    QueueTarget,
    RedriveFilter,
    RedriveResult,
    StreamTarget,
    Target,
    redrive,
    redrive_bucket,
    resolve_queue_url,
)

__all__ = ["add_parser", "run"]

MESSAGE_KINDS = {"on-failure": "on_failure", "quarantine": "quarantine"}

EXAMPLES = """\
examples:
  shardsafe redrive --queue ticks-on-failure --to-file failed.jsonl --dry-run
  shardsafe redrive --queue ticks-on-failure --to-file failed.jsonl
  shardsafe redrive --queue ticks-on-failure --to-stream --reason RetryAttemptsExhausted --since 6h
  shardsafe redrive --queue ticks-quarantine --to-stream ticks-replay --reason invalid_json --limit 100
  shardsafe redrive --bucket ticks-failures --to-file failed.jsonl --dry-run
  shardsafe redrive --bucket ticks-failures --prefix aws/lambda/ --to-stream ticks-replay
  shardsafe redrive --queue orders-stream-failures --to-function orders-handler
  shardsafe redrive --dlq orders-dlq --to-queue --dry-run
  shardsafe redrive --dlq orders-dlq.fifo --to-queue orders.fifo --limit 50

Reasons are Lambda's condition for on-failure messages (RetryAttemptsExhausted, RecordAgeExceeded,
...) and shardsafe's reason for quarantined records (invalid_json, validation_error, ...).
From a bucket, Lambda's on-failure objects (aws/lambda/...) and quarantine envelopes kept in S3
(<claim-check prefix>envelopes/...) are redriven and deleted once written; a claim check's payload
object (.../payloads/...) is redriven, and deleted, with its envelope. Run one redrive of a bucket at
a time: unlike a queue, a bucket hides nothing from a second reader.
A DynamoDB stream's records (its mapping's on-failure records, its quarantined records) go to a
function (--to-function, invoked with them as the mapping would) or a file: a DynamoDB stream is
written only by its table. A dead-letter queue's messages (--dlq) go back to a queue (--to-queue: the
one queue whose redrive policy names the DLQ, or QUEUE) with their body, message attributes and, for
FIFO, group id; or to a file.
Exit status: 0 all redriven, 1 something kept or unrecoverable (see stderr), 2 bad input.
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "redrive",
        help="recover the records behind failure-queue messages, failure-bucket objects or dead-letter "
        "queue messages, and re-put, re-invoke, re-send or write them to a file",
        description=(
            "Read Lambda on-failure records and shardsafe quarantine envelopes from an SQS queue or an\n"
            "S3 failure bucket (Kinesis and DynamoDB streams, SQS), or a dead-letter queue's messages;\n"
            "recover their records (from the S3 object, from the envelope or its claim check, or from\n"
            "the stream while it still retains them) and re-put them on a Kinesis stream, invoke a\n"
            "function with them, send them to a queue, or append them to a JSON Lines file. A message\n"
            "or object is deleted only after all its records are written. Warnings and unrecoverable\n"
            "records go to stderr as JSON lines."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_argument_group("source (one of)").add_mutually_exclusive_group(required=True)
    source.add_argument("--queue", help="the failure queue: URL, ARN or name")
    source.add_argument("--bucket", metavar="NAME", help="the failure bucket (S3 on-failure destination)")
    source.add_argument(
        "--dlq",
        metavar="QUEUE",
        help="a dead-letter queue (URL, ARN or name): its messages are moved back, see --to-queue",
    )
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
        "--to-function",
        metavar="FUNCTION",
        help="invoke FUNCTION (name or ARN) with the records, grouped by shard in order, as the mapping "
        "would; a record counts as written when the invocation succeeds without reporting it failed",
    )
    target.add_argument(
        "--to-queue",
        nargs="?",
        const="",
        metavar="QUEUE",
        help="with --dlq: send the messages to QUEUE, or to the queue whose redrive policy names the DLQ",
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
        "--kind", action="append", default=[], choices=sorted(MESSAGE_KINDS), help="only this kind of message"
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
    if args.dlq is not None and (args.to_stream is not None or args.to_function is not None):
        raise InputError(
            f"--dlq {args.dlq}: a dead-letter queue's messages go back to a queue or to a file: "
            "use --to-queue [QUEUE] or --to-file FILE"
        )
    if args.to_queue is not None and args.dlq is None and not args.to_queue:
        raise InputError(
            "--to-queue without a QUEUE sends a DLQ's messages back to its source: give --dlq too"
        )
    make = client_factory(args)
    with aws_errors("AWS clients"):
        s3, kinesis = make("s3"), make("kinesis")
        sqs = make("sqs") if args.bucket is None or args.to_queue is not None else None
        streams = OnFirstUse(lambda: make("dynamodbstreams")) if args.queue is not None else None
    queue = args.dlq if args.dlq is not None else args.queue
    queue_url = ""
    if queue is not None:
        with aws_errors(f"queue {queue}"):
            queue_url = resolve_queue_url(sqs, queue)
    target: Target
    if args.to_function is not None:
        with aws_errors("AWS clients"):
            functions = make("lambda")
        target = FunctionTarget(functions, args.to_function, region=functions.meta.region_name)
    elif args.to_queue is not None:
        with aws_errors(f"queue {args.to_queue or 'the source of ' + queue_url}"):
            to_queue = (
                resolve_queue_url(sqs, args.to_queue) if args.to_queue else source_queue(sqs, queue_url)
            )
        target = QueueTarget(sqs, to_queue)
    elif args.to_file is not None:
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
        kinds=frozenset(MESSAGE_KINDS[kind] for kind in args.kind),
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
            with aws_errors("redrive"):
                result = redrive(
                    sqs,
                    kinesis,
                    queue_url,
                    target,
                    s3=s3,
                    streams=streams,
                    dead_letters=args.dlq is not None,
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


def source_queue(sqs: Any, dlq_url: str) -> str:
    """The one queue whose redrive policy names ``dlq_url`` as its dead-letter queue."""
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url).get("queueUrls", [])
    if len(sources) != 1:
        found = ", ".join(sources) if sources else "none"
        raise InputError(
            f"--to-queue without a QUEUE needs exactly one queue using {dlq_url} as its dead-letter queue; "
            f"found {found}: name the queue, --to-queue QUEUE"
        )
    return str(sources[0])


class OnFirstUse:
    """A client made when first used: most failure queues hold no DynamoDB stream's batch."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)
