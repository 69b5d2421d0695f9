"""``make demo``: deploy examples/complete on LocalStack, send good and poison records, report.

Starts the embedded LocalStack if none runs, builds the Lambda zip, applies the example, produces a
few thousand stock ticks across the shards with a poison mix and one record that crashes the
function, waits until every record is accounted for (with a deadline), prints a report, destroys
the stack and stops what it started. Exits 1 if any record is unaccounted for.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from shardsafe_localstack import ctl
from shardsafe_localstack.accounting import Reconciliation
from shardsafe_localstack.pipeline import (
    Stack,
    crash_record,
    deployed_stack,
    manifest_records,
    recover_failure_batches,
    wait_until_accounted,
)


def run_demo(endpoint: str, count: int, poison: float, shards: int, deadline_s: float, out: Path) -> bool:
    from shardsafe.cli.generate import generate_records
    from shardsafe.cli.produce import produce

    with tempfile.TemporaryDirectory(prefix="shardsafe-demo-") as workdir:
        print(f"Deploying examples/complete ({shards} shards) on {endpoint} ...", flush=True)
        started = time.monotonic()
        with deployed_stack(endpoint, Path(workdir), shard_count=shards) as stack:
            print(f"  deployed in {time.monotonic() - started:.0f} s: stream {stack.stream_name}", flush=True)
            records = list(generate_records(count, poison=poison, keys=max(16, shards * 8), seed=7))
            records.insert(len(records) // 2, crash_record())
            with (out / "manifest.jsonl").open("w") as manifest:
                result = produce(stack.client("kinesis"), stack.stream_name, records, manifest=manifest)
            print(f"  {result.summary()}", flush=True)
            produced = manifest_records(result.records)
            reconciliation, waited = wait_until_accounted(stack, produced, deadline_s)
            elapsed = result.elapsed_s + waited
            recovery = recovery_report(stack, reconciliation, out) if reconciliation.failure_batches else None
            print(report(stack, reconciliation, elapsed, result.failed, recovery))
            print("Destroying the stack ...", flush=True)
        return reconciliation.sound and result.failed == 0


def report(
    stack: Stack, result: Reconciliation, elapsed_s: float, not_put: int, recovery: str | None = None
) -> str:
    kinds = Counter(record.kind for record in result.produced)
    good = kinds.pop("good", 0)
    crash = kinds.pop("crash", 0)
    batches = result.failure_batches
    reasons = " · ".join(f"{reason} {n}" for reason, n in sorted(result.quarantine_reasons.items()))
    intact = len(result.quarantined) - len(result.payload_mismatches)
    settings = stack.settings
    lines = [
        "",
        "shardsafe demo report",
        "=" * 72,
        f"pipeline      examples/complete: {settings['shard_count']} shards, batch 100, bisect on, "
        f"{settings['maximum_retry_attempts']} retries, max record age {settings['maximum_record_age_in_seconds']} s",
        f"produced      {len(result.produced):>6}  ({good} good, {sum(kinds.values())} poison, {crash} crash)"
        + (f"; {not_put} could not be put" if not_put else ""),
        f"processed     {len(result.processed):>6}  (JSON Lines in s3://{stack.outputs['output_bucket_name']}/processed/)",
        f"quarantined   {len(result.quarantined):>6}  {reasons}",
        f"              payloads byte-identical to what was put: {intact}/{len(result.quarantined)}",
        f"on-failure    {len(batches):>6}  batches holding {len(result.in_failure_batches)} records "
        "(Lambda's failure messages: coordinates only; `shardsafe redrive` recovers them)",
    ]
    for batch in batches:
        lines.append(
            f"              {batch.shard_id} {batch.start}..{batch.end}: {batch.size} records, "
            f"{batch.condition} after {batch.attempts} attempts"
        )
    if recovery:
        lines.append(recovery)
    throughput = len(result.produced) / elapsed_s if elapsed_s > 0 else 0.0
    lines += [
        f"unaccounted   {len(result.unaccounted):>6}",
        f"end to end    {elapsed_s:.1f} s from the first put to the last record accounted for ({throughput:.0f} records/s)",
    ]
    problems = []
    if result.unaccounted:
        sample = ", ".join(f"{r.shard_id}/{r.sequence_number} ({r.kind})" for r in result.unaccounted[:5])
        problems.append(f"{len(result.unaccounted)} records unaccounted for, e.g. {sample}")
    if result.payload_mismatches:
        problems.append(f"{len(result.payload_mismatches)} quarantined payloads differ from what was put")
    if result.poison_processed:
        problems.append(f"{len(result.poison_processed)} poison records were processed as good")
    if result.good_quarantined:
        problems.append(f"{len(result.good_quarantined)} good records were quarantined")
    verdict = (
        "PASS: every record was processed, quarantined with its payload, or is in an on-failure batch; "
        "no shard stalled"
        if not problems
        else "FAIL: " + "; ".join(problems)
    )
    lines += ["-" * 72, f"verdict       {verdict}", ""]
    return "\n".join(lines)


def recovery_report(stack: Stack, result: Reconciliation, out: Path) -> str:
    """Recover the records of every on-failure batch from the stream and check them against what was put."""
    path = out / "recovered.jsonl"
    recovered = recover_failure_batches(stack, result.failure_batches, path)
    expected = {r.coordinates: r.sha256 for r in result.in_failure_batches}
    identical = sum(
        1
        for r in recovered
        if expected.get((r.shard_id, int(r.sequence_number))) == hashlib.sha256(r.data).hexdigest()
    )
    return (
        f"redrive       {len(recovered):>6}  records of the on-failure batches re-read from the stream, "
        f"{identical}/{len(expected)} byte-identical to what was put ({path})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shardsafe-demo", description=__doc__)
    parser.add_argument("--records", type=int, default=3000, help="records to produce (default 3000)")
    parser.add_argument(
        "--poison", type=float, default=0.05, help="fraction of poison records (default 0.05)"
    )
    parser.add_argument("--shards", type=int, default=4, help="shards of the stream (default 4)")
    parser.add_argument(
        "--deadline", type=float, default=300, help="seconds to wait for the pipeline (default 300)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build/demo"), help="folder for the manifest and recovered records"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    try:
        with ctl.session() as localstack:
            if localstack.started_here:
                print(f"Started the embedded LocalStack at {localstack.endpoint}", flush=True)
            ok = run_demo(
                localstack.endpoint, args.records, args.poison, args.shards, args.deadline, args.out
            )
    except ctl.LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if localstack.started_here:
        print("Stopped the embedded LocalStack", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
