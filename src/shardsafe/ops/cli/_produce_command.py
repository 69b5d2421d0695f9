"""``shardsafe produce``: argument parsing and output around `shardsafe.ops.produce.produce`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from shardsafe.ops.cli._common import aws_errors, bounded_int, client_factory, print_json
from shardsafe.ops.cli.progress import Progress
from shardsafe.ops.errors import InputError
from shardsafe.ops.produce import KINDS, POISON_KINDS, generate_records, mix_poison, produce, read_jsonl
from shardsafe.ops.produce.generate import SHAPES, parse_poison_fraction, parse_poison_kinds, parse_share

__all__ = ["add_parser", "run"]

DEFAULT_COUNT = 100

EXAMPLES = """\
examples:
  shardsafe produce --stream ticks --count 10000 --poison 5% --seed 1 --manifest put.jsonl
  shardsafe produce --stream sensors --generate temperature --rate 200
  shardsafe produce --stream ticks --input events.jsonl --key-field TICKER
  shardsafe produce --stream ticks --count 1000 --poison 5% --aggregate 10 --aggregate-share 30%
  jq -c '.[]' events.json | shardsafe produce --stream ticks --input -

Endpoint and region come from AWS_ENDPOINT_URL and AWS_REGION unless given here.
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "produce",
        help="put generated or JSON Lines records (with optional poison) on a stream",
        description=(
            "Put records on a Kinesis stream with PutRecords (up to 500 records and 5 MiB a call),\n"
            "retrying the entries a call did not take. Prints one line of counts at the end."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stream", required=True, help="stream name or ARN")

    records = parser.add_argument_group("records")
    source = records.add_mutually_exclusive_group()
    source.add_argument(
        "--generate",
        choices=SHAPES,
        default="stock",
        help='generate stock ticks {"EVENT_TIME","TICKER","PRICE"} or temperature readings '
        '{"ID","Tmp","TimeStamp"} (default: stock)',
    )
    source.add_argument(
        "--input", metavar="FILE", help="put the lines of a JSON Lines file instead; - reads stdin"
    )
    records.add_argument(
        "--count",
        metavar="N",
        type=bounded_int("--count", 0, "how many records to put, 0 or more"),
        help=f"records to put (default: {DEFAULT_COUNT} generated, or every line of --input)",
    )
    records.add_argument(
        "--keys",
        metavar="N",
        type=bounded_int("--keys", 1, "how many distinct partition keys to spread records over, 1 or more"),
        default=16,
        help="spread records over N partition keys (default: 16)",
    )
    records.add_argument(
        "--key-field", metavar="FIELD", help="with --input: use this field of each line as its partition key"
    )
    records.add_argument(
        "--seed", type=int, metavar="N", help="the same records (and timestamps) on every run"
    )

    poison = parser.add_argument_group("poison")
    poison.add_argument(
        "--poison",
        metavar="SHARE",
        default="0%",
        help="share of records replaced by poison, as 5%% or 0.05 (default: 0%%)",
    )
    poison.add_argument(
        "--poison-kinds",
        metavar="KINDS",
        default=",".join(POISON_KINDS),
        help=f"comma-separated kinds, taken in turn (default: all of {', '.join(POISON_KINDS)}): "
        + "; ".join(f"{kind.name}: {kind.description}" for kind in KINDS.values()).replace("%", "%%"),
    )

    kpl = parser.add_argument_group("KPL aggregation")
    kpl.add_argument(
        "--aggregate",
        metavar="N",
        type=bounded_int("--aggregate", 1, "how many user records to pack in each KPL aggregate, 1 or more"),
        help="pack records into KPL aggregated records of up to N user records each, as the Kinesis "
        "Producer Library does (records of one shard together); poison goes inside the aggregates. "
        "The manifest gives each user record's subSequenceNumber",
    )
    kpl.add_argument(
        "--aggregate-share",
        metavar="SHARE",
        default="100%",
        help="with --aggregate: the share of records aggregated, spread evenly, as 30%% or 0.3; "
        "the others are put on their own (default: 100%%)",
    )

    delivery = parser.add_argument_group("delivery and output")
    delivery.add_argument(
        "--rate", type=float, metavar="N", help="at most N records a second on average (default: no limit)"
    )
    delivery.add_argument(
        "--max-attempts",
        metavar="N",
        type=bounded_int("--max-attempts", 1, "how many times to try each record, 1 or more"),
        default=8,
        help="tries per record, with backoff, before it counts as failed (default: 8)",
    )
    delivery.add_argument(
        "--manifest",
        metavar="FILE",
        help="write a JSON line per record put: kind, partition key, shard, sequence number, sha256, size",
    )
    delivery.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr even when it is not a terminal",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    poison = parse_poison_fraction(args.poison)
    kinds = parse_poison_kinds(args.poison_kinds)
    if args.rate is not None and not args.rate > 0:
        raise InputError(f"--rate {args.rate} must be above 0 records per second; leave it out for no limit")
    aggregate_share = parse_share("--aggregate-share", args.aggregate_share)
    if args.aggregate is None and args.aggregate_share != "100%":
        raise InputError("--aggregate-share says how many records go into aggregates: give --aggregate N too")
    if args.key_field and not args.input:
        raise InputError("--key-field reads a field of --input lines: give --input FILE as well")

    if args.input:
        source = sys.stdin.buffer if args.input == "-" else Path(args.input)
        lines = read_jsonl(source, keys=args.keys, key_field=args.key_field, seed=args.seed)
        loaded = list(lines)[: args.count] if args.count is not None else list(lines)
        records = mix_poison(loaded, poison, kinds, _rng(args.seed))
        total: int | None = len(loaded)
    else:
        total = DEFAULT_COUNT if args.count is None else args.count
        records = generate_records(
            total, shape=args.generate, keys=args.keys, poison=poison, poison_kinds=kinds, seed=args.seed
        )

    with aws_errors("kinesis client"):
        kinesis = client_factory(args)("kinesis")
    progress = Progress(total) if args.progress or sys.stderr.isatty() else None
    with contextlib.ExitStack() as stack:
        manifest: TextIO | None = None
        if args.manifest:
            try:
                manifest = stack.enter_context(open(args.manifest, "w", encoding="utf-8"))
            except OSError as exc:
                raise InputError(
                    f"cannot write --manifest {args.manifest}: {exc.strerror}; give a writable path"
                ) from None
        with aws_errors(f"stream {args.stream}"):
            try:
                result = produce(
                    kinesis,
                    args.stream,
                    records,
                    rate=args.rate,
                    manifest=manifest,
                    on_progress=progress.advance if progress is not None else None,
                    max_attempts=args.max_attempts,
                    aggregate=args.aggregate or 0,
                    aggregate_share=aggregate_share,
                )
            finally:
                if progress is not None:
                    progress.close()
    if args.output == "json":
        print_json(result.to_json())
    else:
        print(result.summary())
    for failed in [r for r in result.records if not r.ok][:5]:
        print(f"  {failed.failure_line()}", file=sys.stderr)
    return 0 if result.failed == 0 else 1


def _rng(seed: int | None) -> Any:
    import random

    return random.Random(seed)  # noqa: S311 - test load, reproducible on purpose
