"""The demo's report: where every record went, by producer kind, and a verdict."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shardsafe_harness.accounting import Reconciliation
from shardsafe_harness.stack import Stack, recover_failure_batches

from demo.function import CRASH_KIND
from shardsafe.produce import KINDS

RULE = 72


def report(
    stack: Stack, result: Reconciliation, elapsed_s: float, not_put: int, recovery: str | None = None
) -> str:
    tallies = result.by_kind()
    good = tallies["good"].produced if "good" in tallies else 0
    crash = tallies[CRASH_KIND].produced if CRASH_KIND in tallies else 0
    poison = len(result.produced) - good - crash
    batches = result.failure_batches
    reasons = " · ".join(f"{reason} {n}" for reason, n in sorted(result.quarantine_reasons.items()))
    intact = len(result.quarantined) - len(result.payload_mismatches)
    settings = stack.settings
    lines = [
        "",
        "shardsafe demo report",
        "=" * RULE,
        f"pipeline      examples/complete: {settings['shard_count']} shards, batch 100, bisect on, "
        f"{settings['maximum_retry_attempts']} retries, max record age {settings['maximum_record_age_in_seconds']} s",
        f"produced      {len(result.produced):>6}  ({good} good, {poison} poison, {crash} crash)"
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
        "-" * RULE,
        *kind_table(result),
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
    if wrong := misnamed_kinds(result):
        problems.append("quarantined for another reason than the catalogue gives: " + ", ".join(wrong))
    verdict = (
        "PASS: every record was processed, quarantined with its payload, or is in an on-failure batch; "
        "no shard stalled"
        if not problems
        else "FAIL: " + "; ".join(problems)
    )
    lines += ["-" * RULE, f"verdict       {verdict}", ""]
    return "\n".join(lines)


def misnamed_kinds(result: Reconciliation) -> list[str]:
    """Poison kinds quarantined with a reason other than the one the catalogue (shardsafe.produce.kinds) gives."""
    return [
        f"{kind} ({', '.join(sorted(tally.reasons))}; expected {KINDS[kind].reason})"
        for kind, tally in result.by_kind().items()
        if kind in KINDS and set(tally.reasons) - {KINDS[kind].reason}
    ]


def kind_table(result: Reconciliation) -> list[str]:
    """One line per producer kind: where its records went, and the reasons the quarantined ones were given
    (the catalogue's reason for each poison kind, shardsafe.produce.kinds, is what they should be)."""
    lines = [
        f"{'by kind':<18}{'produced':>9}{'processed':>10}{'quarantined':>12}{'on-failure':>11}{'lost':>6}  reasons"
    ]
    for kind, tally in result.by_kind().items():
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.reasons.items()))
        counts = [tally.places[place] for place in ("processed", "quarantined", "on-failure", "unaccounted")]
        lines.append(
            f"  {kind:<16}{tally.produced:>9}{counts[0]:>10}{counts[1]:>12}{counts[2]:>11}{counts[3]:>6}  {reasons}".rstrip()
        )
    return lines


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
