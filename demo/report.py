"""The demo's report: where every record went, by producer kind, and a verdict."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from shardsafe_harness.accounting import Reconciliation, keyed_payloads
from shardsafe_harness.stack import Stack, recover_failure_batches

from demo.function import CRASH_KIND
from shardsafe.ops.produce import KINDS

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
        f"pipeline      examples/complete: {settings['shard_count']} shards, batch 100, "
        f"bisect on error ({bisect_note()}), "
        f"{settings['maximum_retry_attempts']} retries, max record age {settings['maximum_record_age_in_seconds']} s",
        f"produced      {len(result.produced):>6}  ({good} good, {poison} poison, {crash} crash)"
        + (f"; {not_put} could not be put" if not_put else "")
        + _in_aggregates(result.produced),
        f"processed     {len(result.processed):>6}  (JSON Lines in s3://{stack.outputs['output_bucket_name']}/processed/)"
        + _in_aggregates(result.processed),
        f"quarantined   {len(result.quarantined):>6}  {reasons}",
        f"              payloads byte-identical to what was put: {intact}/{len(result.quarantined)}",
        f"on-failure    {len(batches):>6}  {'batch' if len(batches) == 1 else 'batches'} holding "
        f"{plural(len(result.in_failure_batches), 'record')} "
        + (
            f"(Lambda's objects in s3://{stack.failure_bucket}/aws/lambda/, with their records)"
            if stack.failure_bucket
            else "(Lambda's failure messages: coordinates only; `shardsafe redrive` re-reads the stream)"
        ),
    ]
    for batch in batches:
        lines.append(
            f"              {batch.shard_id} {batch.start}..{batch.end}: {'? records' if batch.size is None else plural(batch.size, 'record')}, "
            f"{batch.condition} after {batch.attempts} attempts"
        )
    lines += kpl_lines(result)
    if recovery:
        lines.append(recovery)
    throughput = len(result.produced) / elapsed_s if elapsed_s > 0 else 0.0
    lines += [
        f"unaccounted   {len(result.unaccounted):>6}",
        f"end to end    {elapsed_s:.1f} s from the first put to the last record accounted for ({throughput:.0f} records/s)",
        "-" * RULE,
        *kind_table(result),
    ]
    if any(record.aggregated for record in result.produced):
        lines += ["", *kind_table(result, aggregated=True)]
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
    if not recovery_complete(recovery):
        problems.append("a record could not be recovered byte-identical (see the redrive lines)")
    if (problem := kpl_problem(result)) is not None:
        problems.append(problem)
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


def _in_aggregates(records: list[Any]) -> str:
    users = sum(1 for record in records if record.aggregated)
    return f"; {users} of them user records in KPL aggregates" if users else ""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 record``, ``2 records``: the report reads as a sentence for any count."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def bisect_note() -> str:
    """How bisect on function error is had here: the embedded LocalStack emulates it unless switched off."""
    from shardsafe_localstack.switches import switch

    if not switch("SHARDSAFE_LOCALSTACK_BISECT"):  # the LocalStack the demo starts inherits it
        return "OFF in this LocalStack: SHARDSAFE_LOCALSTACK_BISECT=0"
    return "emulated by the embedded LocalStack, as AWS documents it"


def misnamed_kinds(result: Reconciliation) -> list[str]:
    """Poison kinds quarantined with a reason other than the one the catalogue (shardsafe.ops.produce.kinds) gives."""
    return [
        f"{kind} ({', '.join(sorted(tally.reasons))}; expected {KINDS[kind].reason})"
        for kind, tally in result.by_kind().items()
        if kind in KINDS and set(tally.reasons) - {KINDS[kind].reason}
    ]


def kpl_lines(result: Reconciliation) -> list[str]:
    """The KPL aggregates: how many Kinesis records, the user records they held, and where those went."""
    users = [record for record in result.produced if record.aggregated]
    if not users:
        return []
    aggregates = len({record.coordinates for record in users})
    quarantined = [record for record in result.quarantined if record.aggregated]
    mismatched = {record.key for record in result.payload_mismatches}
    intact = sum(1 for record in quarantined if record.key not in mismatched)
    places = {
        "processed": sum(1 for record in result.processed if record.aggregated),
        "quarantined": len(quarantined),
        "on-failure": sum(1 for record in result.in_failure_batches if record.aggregated),
        "unaccounted": sum(1 for record in result.unaccounted if record.aggregated),
    }
    return [
        f"KPL           {aggregates:>6}  aggregated Kinesis records holding {len(users)} user records: "
        + ", ".join(f"{place} {count}" for place, count in places.items()),
        f"              user records quarantined with their own bytes, key and sub-sequence number: "
        f"{intact}/{len(quarantined)} byte-identical",
    ]


def kpl_problem(result: Reconciliation) -> str | None:
    """With aggregates in the load, a poison user record must have been quarantined from inside one."""
    if not any(record.aggregated for record in result.produced):
        return None
    if any(record.aggregated and record.kind in KINDS for record in result.quarantined):
        return None
    return "no poison user record inside a KPL aggregate was quarantined"


def kind_table(result: Reconciliation, *, aggregated: bool | None = None) -> list[str]:
    """One line per producer kind: where its records went, and the reasons the quarantined ones were given
    (the catalogue's reason for each poison kind, shardsafe.ops.produce.kinds, is what they should be).
    ``aggregated=True``: the user records of KPL aggregates only."""
    title = "KPL user records" if aggregated else "by kind"
    lines = [
        f"{title:<18}{'produced':>9}{'processed':>10}{'quarantined':>12}{'on-failure':>11}{'lost':>6}  reasons"
    ]
    for kind, tally in result.by_kind(aggregated=aggregated).items():
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.reasons.items()))
        counts = [tally.places[place] for place in ("processed", "quarantined", "on-failure", "unaccounted")]
        lines.append(
            f"  {kind:<16}{tally.produced:>9}{counts[0]:>10}{counts[1]:>12}{counts[2]:>11}{counts[3]:>6}  {reasons}".rstrip()
        )
    return lines


def recovery_report(stack: Stack, result: Reconciliation, out: Path) -> str:
    """Recover every record the pipeline did not process, byte for byte.

    With the module's failure bucket (S3 on-failure destination and claim checks), the stream is
    DELETED first: the crashed batch comes back from Lambda's S3 object and the quarantined records
    from their envelopes (inline, or the claim-check object in S3), by ``shardsafe redrive``'s own
    code, so nothing depends on the stream's retention. With an SQS destination the batch's records
    can only be re-read from the stream, which is kept.
    """
    from shardsafe.ops.redrive import FileTarget, redrive, redrive_bucket

    if not stack.failure_bucket:
        path = out / "recovered.jsonl"
        recovered = recover_failure_batches(stack, result.failure_batches, path)
        expected = {r.key: r.sha256 for r in result.in_failure_batches}
        identical = _identical(recovered, expected)
        return (
            f"redrive       {len(recovered):>6}  records of the on-failure batches re-read from the stream, "
            f"{identical}/{len(expected)} byte-identical to what was put ({path})"
        )
    kinesis, s3, sqs = stack.client("kinesis"), stack.client("s3"), stack.client("sqs")
    delete_stream(kinesis, stack.stream_name)
    batches_path, quarantine_path = out / "recovered-on-failure.jsonl", out / "recovered-quarantine.jsonl"
    for path in (batches_path, quarantine_path):
        path.unlink(missing_ok=True)
    from_bucket = redrive_bucket(s3, kinesis, stack.failure_bucket, FileTarget(batches_path))
    from_queue = redrive(
        sqs, kinesis, stack.outputs["failure_queue_url"], FileTarget(quarantine_path), s3=s3, wait_time_s=0
    )
    crashed = {r.key: r.sha256 for r in result.in_failure_batches}
    quarantined = {r.key: r.sha256 for r in result.quarantined}
    big = {
        r.key: r.sha256 for r in result.quarantined if r.kind in KINDS and not KINDS[r.kind].payload_inline
    }
    batch_records, quarantine_records = _read(batches_path), _read(quarantine_path)
    return "\n".join(
        [
            f"stream        deleted ({stack.stream_name}); then `shardsafe redrive`, with no stream to read:",
            f"  from S3     {len(batch_records):>6}  records of {len(result.failure_batches)} on-failure "
            f"objects in s3://{stack.failure_bucket}/aws/lambda/, "
            f"{_identical(batch_records, crashed)}/{len(crashed)} byte-identical ({batches_path})",
            f"  from SQS    {len(quarantine_records):>6}  quarantined records, "
            f"{_identical(quarantine_records, quarantined)}/{len(quarantined)} byte-identical, "
            f"{_identical(quarantine_records, big)}/{len(big)} of them too big for a message and claim-checked in S3 "
            f"({quarantine_path})",
            f"              unrecoverable: {from_bucket.records_unrecoverable + from_queue.records_unrecoverable}",
        ]
    )


def recovery_complete(text: str | None) -> bool:
    """Whether the recovery lines report every record byte-identical (each ``n/n``) and, when they
    count them, nothing unrecoverable."""
    if text is None:
        return True
    import re

    pairs = re.findall(r"(\d+)/(\d+) (?:byte-identical|of them)", text)
    unrecoverable = re.findall(r"unrecoverable: (\d+)", text)
    return all(a == b for a, b in pairs) and all(n == "0" for n in unrecoverable)


def delete_stream(kinesis: Any, name: str, deadline_s: float = 60) -> None:
    """Delete the stream and wait until it is gone (the recovery must not be able to read it)."""
    import time

    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        try:
            kinesis.describe_stream_summary(StreamName=name)
        except kinesis.exceptions.ResourceNotFoundException:
            return
        time.sleep(0.5)
    raise RuntimeError(f"stream {name} still exists {deadline_s:.0f} s after DeleteStream")


def _read(path: Path) -> list[Any]:
    """(key, bytes) of each record in a JSON Lines file redrive wrote: a KPL user record quarantined on its
    own keyed by its sub-sequence number, and an aggregate (of an on-failure batch) by itself and by each
    of its user records."""
    import base64
    import json

    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        document = json.loads(line)
        records += keyed_payloads(
            document["shardId"],
            int(document["sequenceNumber"]),
            base64.b64decode(document["data"]),
            document.get("subSequenceNumber"),
        )
    return records


def _identical(recovered: list[Any], expected: dict[Any, str]) -> int:
    """How many of ``expected`` (record key -> sha256) are among ``recovered`` with those bytes."""
    found = set()
    for record in recovered:
        pairs = (
            [record]
            if isinstance(record, tuple)
            else keyed_payloads(
                record.shard_id, int(record.sequence_number), record.data, record.sub_sequence_number
            )
        )
        for key, data in pairs:
            if expected.get(key) == hashlib.sha256(data).hexdigest():
                found.add(key)
    return len(found)
