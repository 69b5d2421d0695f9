"""The headline: one poison record in a steady load on one shard, shardsafe's handler against Powertools'.

On the embedded LocalStack with bisect on error emulated (``shardsafe_localstack.bisect_on_error``;
the mapping is tagged ``shardsafe-localstack:bisect``), each run gets a one-shard stream, a function
and an event source mapping made as the end-to-end part makes them (``bench/e2e_localstack.py``: the
same zip, entry point and ``Resources``), the zip here also carrying aws-lambda-powertools. The
function and the mapping have the module's defaults (:data:`MODULE_DEFAULTS`, variables.tf's, which
a test compares): batch size 100, no batching window, bisect on, 3 retries, records given up on
after 6 hours, partial batch responses, and an S3 on-failure destination, the module's default kind.

After a warm-up, ``records`` records are put at ``rate`` a second (ten PutRecords calls a second).
One is poison: a tick whose ``PRICE`` is not a number, so the record handler raises
(``bench/functions/poison_handlers.py``); it is the middle record of the put call in the middle of
the load, so that good records of its call follow it, as they would in a real stream. Every record
is named by its partition key, and found again by its sequence number: in the function's
``BENCH-DONE`` lines (each invocation: its records, those it reported failed, whether it raised),
in the quarantine queue and in the failure bucket (``shardsafe_harness.accounting.Collector``), and
placed by ``bench/outcomes.py``.
A record is *done* when the last invocation that held it ended; its latency runs from its put.

Per run, and the median of the runs for each contender (the contenders alternate):

- stall: the latency of the record after the poison, less the load's normal latency: the median
  latency of the good records done before the poison was put;
- invocations that held the poison, and deliveries of records beyond one each (retried records);
- good records that end in the on-failure destination instead of processed (by identity);
- where the poison ends: quarantined or in the on-failure destination, and whether its bytes are there.

LocalStack retries a failed part after its own backoff (0.5 s, then 1.5 times longer each retry,
randomised by half either way), not AWS's: the stall is the stack's figure; the invocation and
record counts follow from the mapping's settings and are AWS's too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shardsafe_harness.accounting import Collector
from shardsafe_harness.resources import Resources

from bench import e2e_localstack, events
from bench.outcomes import (
    Invocation,
    invocations_logged,
    place_records,
    poison_bytes_kept,
    settled,
    summarise,
    summarise_run,
)
from shardsafe.ops.packaging import ZipContent

CONTENDERS = ("shardsafe", "powertools")
LABELS = {
    "shardsafe": "shardsafe",
    "powertools": "Powertools BatchProcessor",
    "raises": "plain loop, raising",
}
#: variables.tf's defaults for the function and its event source mapping (a test reads them there).
MODULE_DEFAULTS: Mapping[str, Any] = {
    "memory_size": 256,
    "timeout": 60,
    "batch_size": 100,
    "maximum_batching_window_in_seconds": 0,
    "starting_position": "TRIM_HORIZON",
    "parallelization_factor": 1,
    "bisect_batch_on_function_error": True,
    "maximum_retry_attempts": 3,
    "maximum_record_age_in_seconds": 21600,
    "report_batch_item_failures": True,
}
BISECT_TAG = "shardsafe-localstack:bisect"  # shardsafe_localstack.bisect_on_error.BISECT_TAG
#: What the Powertools contender needs beside the runtime's packages (jmespath is one of those).
POWERTOOLS_MODULES = ("aws_lambda_powertools", "typing_extensions")
WARM_UP = 3


def headline_zip(lambda_zip: Path | None) -> bytes:
    """The end-to-end part's zip plus the headline's handlers and aws-lambda-powertools (pure Python)."""
    extra: dict[str, ZipContent] = {"poison_handlers.py": e2e_localstack.FUNCTIONS / "poison_handlers.py"}
    for name in POWERTOOLS_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise e2e_localstack.BenchError(f"{name} is not installed: run `make venv`")
        origin = Path(spec.origin)
        if not spec.submodule_search_locations:
            extra[origin.name] = origin
            continue
        for path in origin.parent.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                extra[f"{name}/{path.relative_to(origin.parent).as_posix()}"] = path
    return e2e_localstack.bench_zip(lambda_zip, extra)


def mapping_settings(destination_arn: str, bisect: bool) -> dict[str, Any]:
    """CreateEventSourceMapping parameters for the module's defaults beyond those Resources.mapping sets."""
    return {
        "ParallelizationFactor": MODULE_DEFAULTS["parallelization_factor"],
        "BisectBatchOnFunctionError": MODULE_DEFAULTS["bisect_batch_on_function_error"],
        "MaximumRetryAttempts": MODULE_DEFAULTS["maximum_retry_attempts"],
        "MaximumRecordAgeInSeconds": MODULE_DEFAULTS["maximum_record_age_in_seconds"],
        "DestinationConfig": {"OnFailure": {"Destination": destination_arn}},
        "Tags": {BISECT_TAG: "on" if bisect else "off"},
    }


def load(records: int, rate: float, record_size: int) -> tuple[list[bytes], int]:
    """The load's payloads and the poison's index: the middle record of the middle put call."""
    per_call = e2e_localstack.records_per_call(rate)
    calls = -(-records // per_call)
    poison_index = min(records - 2, (calls // 2) * per_call + per_call // 2)
    payloads = [events.payload(record_size, n) for n in range(records)]
    tick = json.loads(payloads[poison_index])
    payloads[poison_index] = json.dumps(dict(tick, PRICE="not a price"), separators=(",", ":")).encode()
    return payloads, poison_index


def run_one(
    resources: Resources,
    contender: str,
    code: bytes,
    *,
    records: int,
    rate: float,
    record_size: int,
    bisect: bool,
    deadline_s: float,
) -> dict[str, Any]:
    """One contender on a fresh one-shard stream: warm up, the load with its poison, every record placed."""
    name = f"{resources.prefix}-{contender}-{uuid.uuid4().hex[:4]}"
    quarantine = resources.queue(f"{name}-quarantine")
    failures = resources.bucket(f"{name}-failures")
    function = resources.function(
        name,
        code,
        handler="bench_entry.lambda_handler",
        memory_mb=MODULE_DEFAULTS["memory_size"],
        timeout=MODULE_DEFAULTS["timeout"],
        environment={
            "BENCH_HANDLER_MODULE": "poison_handlers",
            "BENCH_POISON_HANDLER": contender,
            "SHARDSAFE_QUARANTINE_QUEUE_URL": quarantine,
            "AWS_ENDPOINT_URL": resources.endpoint,
        },
    )
    stream_arn = resources.stream(name, 1)
    mapping = resources.mapping(
        stream_arn,
        function,
        MODULE_DEFAULTS["batch_size"],
        **mapping_settings(f"arn:aws:s3:::{failures}", bisect),
    )
    kinesis, logs = resources.client("kinesis"), resources.client("logs")
    warm = e2e_localstack.put_records(kinesis, name, [events.payload(record_size)] * WARM_UP, "warm")
    e2e_localstack.wait_for(logs, function, set(warm), deadline_s)

    payloads, poison_index = load(records, rate, record_size)
    put_at = e2e_localstack.put_paced(kinesis, name, payloads, rate, "load")
    by_key = {put.key: sequence for sequence, put in put_at.items()}
    poison, after = by_key[f"load-{poison_index}"], by_key[f"load-{poison_index + 1}"]

    collector = Collector(resources.client("s3"), resources.client("sqs"), failures, quarantine, failures)
    coordinates = (put_at[poison].shard, int(poison))
    give_up = time.monotonic() + deadline_s
    while True:
        invocations = [Invocation.from_line(line) for line in e2e_localstack.done_lines(logs, function)]
        observed = collector.poll()
        outcomes = place_records(put_at, invocations, observed)
        done = settled(outcomes, poison) and invocations_logged(outcomes[poison], coordinates, observed)
        if done or time.monotonic() > give_up:
            break
        time.sleep(0.5)
    run = summarise_run(put_at, outcomes, invocations, poison, after)
    run.update(
        contender=contender,
        settled=settled(outcomes, poison),
        poison_key=put_at[poison].key,
        poison_sha256=hashlib.sha256(payloads[poison_index]).hexdigest(),
        poison_bytes_kept=poison_bytes_kept(
            run["poison_place"], coordinates, payloads[poison_index], observed
        ),
        mapping=_mapping_as_made(resources, mapping),
    )
    return run


def _mapping_as_made(resources: Resources, mapping: str) -> dict[str, Any]:
    """The mapping's settings as LocalStack reports them, under variables.tf's names."""
    made = resources.client("lambda").get_event_source_mapping(UUID=mapping)
    return {
        "batch_size": made["BatchSize"],
        "maximum_batching_window_in_seconds": made["MaximumBatchingWindowInSeconds"],
        "starting_position": made["StartingPosition"],
        "parallelization_factor": made["ParallelizationFactor"],
        "bisect_batch_on_function_error": made["BisectBatchOnFunctionError"],
        "maximum_retry_attempts": made["MaximumRetryAttempts"],
        "maximum_record_age_in_seconds": made["MaximumRecordAgeInSeconds"],
        "report_batch_item_failures": "ReportBatchItemFailures" in made.get("FunctionResponseTypes", []),
    }


def measure(
    endpoint: str,
    *,
    lambda_zip: Path | None = None,
    contenders: Sequence[str] = CONTENDERS,
    records: int = 600,
    rate: float = 100.0,
    record_size: int = 1024,
    repetitions: int = 3,
    bisect: bool = True,
    deadline_s: float = 120.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Each contender ``repetitions`` times, the order alternating; per-run figures and medians."""
    unknown = sorted(set(contenders) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown headline contender {unknown[0]!r}: choose from {', '.join(LABELS)}")
    if records < 4:
        raise ValueError(f"records={records}: the headline needs at least 4 (a poison record and good ones)")
    resources = Resources(endpoint, prefix="headline")
    code = headline_zip(lambda_zip)
    runs = []
    for repetition in range(repetitions):
        order = contenders if repetition % 2 == 0 else tuple(reversed(contenders))
        for contender in order:
            try:
                run = run_one(
                    resources,
                    contender,
                    code,
                    records=records,
                    rate=rate,
                    record_size=record_size,
                    bisect=bisect,
                    deadline_s=deadline_s,
                )
            finally:
                for failure in resources.clean():
                    print(f"  (cleanup failed: {failure})")
            runs.append(run)
            if progress is not None:
                progress(
                    f"{contender:<10} run {repetition + 1}: stall {_ms(run['stall_ms'])}, "
                    f"{run['poison_invocations']} invocation(s) held the poison, "
                    f"{run['good_on_failure']} good record(s) in the on-failure destination, "
                    f"poison {run['poison_place']}"
                )
    return {
        "records": records,
        "rate": rate,
        "record_size": record_size,
        "repetitions": repetitions,
        "bisect": bisect,
        "settings": dict(MODULE_DEFAULTS),
        "summary": [summarise(runs, contender) for contender in contenders],
        "runs": runs,
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f} ms"
