"""``python -m demo`` (``make demo``): deploy examples/complete on LocalStack, send good and poison records, report.

Starts the embedded LocalStack if none runs, builds the Lambda zip (or takes ``--lambda-zip``),
applies the example, produces a few thousand stock ticks across the shards with a poison mix and
one record that crashes the function, a share of them packed into KPL aggregates (poison user
records inside), waits until every record is accounted for (with a deadline), prints a report that
counts records, and the aggregates' user records, by producer kind, destroys the stack and stops
what it started. Exits 1 if any record is unaccounted for.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from shardsafe_harness import paths
from shardsafe_harness.accounting import manifest_records
from shardsafe_harness.stack import deployed_stack, wait_until_accounted
from shardsafe_harness.zips import package_zip
from shardsafe_localstack import ctl

from demo import function
from demo.report import recovery_complete, recovery_report, report


def run_demo(
    endpoint: str,
    lambda_zip: Path,
    count: int,
    poison: float,
    shards: int,
    deadline_s: float,
    out: Path,
    aggregate: int = 0,
    aggregate_share: float = 0.0,
) -> bool:
    from shardsafe.ops.produce import generate_records, produce

    with tempfile.TemporaryDirectory(prefix="shardsafe-demo-") as workdir:
        demo_zip = function.build_zip(lambda_zip, out / "lambda-demo.zip")
        print(f"Deploying examples/complete ({shards} shards) on {endpoint} ...", flush=True)
        started = time.monotonic()
        with deployed_stack(
            endpoint, Path(workdir), demo_zip, handler=function.HANDLER, shard_count=shards
        ) as stack:
            print(f"  deployed in {time.monotonic() - started:.0f} s: stream {stack.stream_name}", flush=True)
            records = list(generate_records(count, poison=poison, keys=max(16, shards * 8), seed=7))
            records.insert(len(records) // 2, function.crash_record())
            with (out / "manifest.jsonl").open("w") as manifest:
                result = produce(
                    stack.client("kinesis"),
                    stack.stream_name,
                    records,
                    manifest=manifest,
                    aggregate=aggregate,
                    aggregate_share=aggregate_share if aggregate else 1.0,
                )
            print(f"  {result.summary()}", flush=True)
            produced = manifest_records(result.records)
            reconciliation, waited = wait_until_accounted(stack, produced, deadline_s)
            elapsed = result.elapsed_s + waited
            recovery = (
                recovery_report(stack, reconciliation, out)
                if reconciliation.failure_batches or reconciliation.quarantined
                else None
            )
            print(report(stack, reconciliation, elapsed, result.failed, recovery))
            print("Destroying the stack ...", flush=True)
        return reconciliation.sound and result.failed == 0 and recovery_complete(recovery)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000, help="records to produce (default 3000)")
    parser.add_argument(
        "--poison", type=float, default=0.05, help="fraction of poison records (default 0.05)"
    )
    parser.add_argument("--shards", type=int, default=4, help="shards of the stream (default 4)")
    parser.add_argument(
        "--aggregate",
        type=int,
        default=10,
        help="user records per KPL aggregate (default 10; 0 puts every record on its own)",
    )
    parser.add_argument(
        "--aggregate-share",
        type=float,
        default=0.3,
        help="fraction of the records packed into KPL aggregates (default 0.3)",
    )
    parser.add_argument(
        "--deadline", type=float, default=300, help="seconds to wait for the pipeline (default 300)"
    )
    parser.add_argument(
        "--lambda-zip",
        type=Path,
        default=None,
        help="shardsafe's Lambda zip (default: build it, as make package)",
    )
    parser.add_argument(
        "--out", type=Path, default=paths.BUILD / "demo", help="folder for the manifest and recovered records"
    )
    args = parser.parse_args(argv)
    if args.lambda_zip is not None and not args.lambda_zip.is_file():
        parser.error(f"--lambda-zip {args.lambda_zip} does not exist: build it with `make package`")
    args.out.mkdir(parents=True, exist_ok=True)
    lambda_zip = args.lambda_zip or package_zip()

    try:
        with ctl.session() as localstack:
            if localstack.started_here:
                print(f"Started the embedded LocalStack at {localstack.endpoint}", flush=True)
            ok = run_demo(
                localstack.endpoint,
                lambda_zip,
                args.records,
                args.poison,
                args.shards,
                args.deadline,
                args.out,
                args.aggregate,
                args.aggregate_share,
            )
    except ctl.LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if localstack.started_here:
        print("Stopped the embedded LocalStack", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
