"""``python -m bench``: run the benchmarks, write build/bench/results.json and per_record.png, print the tables.

    python -m bench                       # everything
    python -m bench --only handler --quick
    python -m bench --only deagg --quick  # KPL de-aggregation against aws-kinesis-agg
    python -m bench --only latency --only headline --quick
    python -m bench --update-docs         # also put the tables in docs/benchmarks.md (headline: README too)

The parts on LocalStack (e2e, latency, headline) run on LOCALSTACK_ENDPOINT, or on an embedded
LocalStack started for them alone and stopped after: LocalStack idling beside the in-process parts
would be noise in them. ``make bench`` runs them with the Lambda zip.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shardsafe_harness import paths

from bench import (
    cold_start,
    deaggregation,
    e2e_localstack,
    handler_cost,
    headline,
    idempotency,
    memory,
    model_cost,
    report,
    stack_speed,
    stages,
)

PARTS = (
    "handler",
    "stages",
    "deagg",
    "model",
    "cold",
    "memory",
    "idempotency",
    "e2e",
    "latency",
    "headline",
    "idempotency-dynamodb",
)
ON_LOCALSTACK = ("e2e", "latency", "headline", "idempotency-dynamodb")


def say(message: str) -> None:
    print(message, flush=True)


def meta() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=paths.REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "powertools": importlib.metadata.version("aws-lambda-powertools"),
        "aws_xray_sdk": importlib.metadata.version("aws-xray-sdk"),
        "cpus": os.cpu_count(),
        "load_average": ", ".join(f"{load:.1f}" for load in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[], help="leave this part out")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions: a try-out")
    parser.add_argument("--output", type=Path, default=paths.BUILD / "bench")
    parser.add_argument("--lambda-zip", type=Path, default=None, help="shardsafe's Lambda zip (make package)")
    parser.add_argument(
        "--repetitions",
        type=int,
        default=None,
        help="per-record repetitions, at least (default 7; more where samples are short)",
    )
    parser.add_argument("--cold-samples", type=int, default=None, help="fresh interpreters each (default 21)")
    parser.add_argument(
        "--e2e-records", type=int, default=None, help="records per end-to-end run (default 2000)"
    )
    parser.add_argument(
        "--headline-runs", type=int, default=None, help="runs per headline contender (default 3)"
    )
    parser.add_argument(
        "--update-docs",
        nargs="?",
        const=paths.REPO / report.DOCS_PAGE,
        type=Path,
        default=None,
        metavar="PAGE",
        help=f"put the tables between the bench markers of PAGE (default: {report.DOCS_PAGE})",
    )
    args = parser.parse_args(argv)
    parts = [part for part in (args.only or PARTS) if part not in args.skip]
    if args.lambda_zip is not None and not args.lambda_zip.is_file():
        parser.error(f"--lambda-zip {args.lambda_zip} does not exist: build it with `make package`")

    results: dict[str, Any] = {"meta": meta()}
    started = time.monotonic()
    if "handler" in parts:
        say("== per-record cost (µs/record: floor, naive, shardsafe, powertools)")
        if args.quick:
            results["handler_cost"] = handler_cost.measure(
                (100, 1024),
                (100, 1000),
                (0.0, 0.1),
                repetitions=args.repetitions or 3,
                min_total_records=3000,
                progress=say,
            )
        else:
            results["handler_cost"] = handler_cost.measure(repetitions=args.repetitions or 7, progress=say)
        say(
            "== what a handler may change costs (µs/record of CPU time: as shipped, and with the safeguard off)"
        )
        results["mutation_safety"] = handler_cost.measure_mutation_safety(
            repetitions=5 if args.quick else 15, min_records=500 if args.quick else 2000
        )
        for what, cost in results["mutation_safety"]["costs_us_per_record"].items():
            say(f"   {what}: {cost:+.2f} µs/record")
    if "stages" in parts:
        say("== where the time of a clean record goes (ns/record of CPU time, step by step)")
        results["stages"] = stages.measure(repetitions=5 if args.quick else 15)
        for step, ns in results["stages"]["steps_ns"].items():
            say(f"   {step}: {ns:.0f} ns/record")
    if "deagg" in parts:
        say("== KPL de-aggregation (µs/user record: floor, shardsafe, aws_kinesis_agg)")
        results["deaggregation"] = deaggregation.measure(
            repetitions=args.repetitions or (3 if args.quick else 7),
            min_user_records=5_000 if args.quick else 20_000,
            progress=say,
        )
    if "model" in parts:
        say("== per-record cost with a pydantic model (µs/record: floor, shardsafe, powertools parser)")
        if args.quick:
            results["model_cost"] = model_cost.measure(
                (100, 1024), (100,), (0.0, 0.1), repetitions=3, min_total_records=3000, progress=say
            )
        else:
            results["model_cost"] = model_cost.measure(repetitions=args.repetitions or 7, progress=say)
    if "cold" in parts:
        say("== cold start and first poison record (fresh interpreters)")
        samples = args.cold_samples or (5 if args.quick else 21)
        results["cold_start"] = cold_start.measure(samples, zip_path=args.lambda_zip, progress=say)
    if "memory" in parts:
        say("== memory (fresh interpreters)")
        batch = 1000 if args.quick else 10_000
        results["memory"] = memory.measure(batch, 10_240, progress=say)
    if "idempotency" in parts:
        say("== idempotency in memory (µs/record: shardsafe with and without the layer)")
        results.setdefault("idempotency", {})["memory"] = idempotency.measure_memory(
            repetitions=args.repetitions or (3 if args.quick else 9), progress=say
        )
    if any(part in parts for part in ON_LOCALSTACK):
        results.update(on_localstack(parts, args))
        if "idempotency_dynamodb" in results:  # one section with the in-memory part
            results.setdefault("idempotency", {})["dynamodb"] = results.pop("idempotency_dynamodb")
    results["targets"] = report.targets(results)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)

    report.write_json(results, args.output / "results.json")
    if "handler_cost" in results:
        report.chart(results["handler_cost"], args.output / "per_record.png")
    table = report.markdown(results)
    (args.output / "results.md").write_text(table)
    say("")
    say(table)
    say(
        f"Results: {args.output / 'results.json'}, {args.output / 'per_record.png'}, {args.output / 'results.md'}"
    )
    if args.update_docs is not None:
        report.update_docs(args.update_docs, table)
        say(f"Updated the tables in {args.update_docs}")
        if "headline" in results:
            readme = paths.REPO / report.README
            report.update_docs(
                readme, report.readme_headline(results), report.HEADLINE_BEGIN, report.HEADLINE_END
            )
            say(f"Updated the headline table in {readme}")
    return 0


def on_localstack(parts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The parts that run on LocalStack, in one session of it: LOCALSTACK_ENDPOINT's or the embedded one."""
    from shardsafe_localstack import ctl

    results: dict[str, Any] = {}
    with ctl.session() as localstack:
        if "e2e" in parts:
            say("== end to end on LocalStack")
            results["e2e"] = e2e_localstack.measure(
                localstack.endpoint,
                lambda_zip=args.lambda_zip,
                records=args.e2e_records or (300 if args.quick else 2000),
                repetitions=1 if args.quick else 2,
                paced=60 if args.quick else 300,
                progress=say,
            )
        if "latency" in parts:
            say("== the embedded LocalStack: warm invocation latency, records a second per shard")
            results["latency"] = stack_speed.measure(
                localstack.endpoint,
                invokes=20 if args.quick else 100,
                records=1000 if args.quick else 3000,
                progress=say,
            )
        if "idempotency-dynamodb" in parts:
            say(
                "== idempotency on DynamoDB (LocalStack): shardsafe's layer and Powertools' on the same records"
            )
            results["idempotency_dynamodb"] = idempotency.measure_dynamodb(
                idempotency.localstack_client(localstack.endpoint),
                repetitions=2 if args.quick else 5,
                progress=say,
            )
        if "headline" in parts:
            say("== headline: one poison record in a steady load on one shard")
            results["headline"] = headline.measure(
                localstack.endpoint,
                lambda_zip=args.lambda_zip,
                records=200 if args.quick else 600,
                repetitions=args.headline_runs or (1 if args.quick else 3),
                progress=say,
            )
    return results


if __name__ == "__main__":
    sys.exit(main())
