"""End to end on LocalStack: records per second and latency from ``PutRecords`` to processed.

For each shard count and contender, a stream, a function and an event source mapping (batch
size 100, ``TRIM_HORIZON``, ``ReportBatchItemFailures``) are created with boto3. Both contenders are
deployed from the same zip, shardsafe's Lambda zip (``make package``) plus two files from
``bench/functions``: an entry point that runs the handler under test and then logs the batch's
sequence numbers and the time it finished, and the floor (the fastest plain loop, ``floor_handler.py``). The function is warmed up (a few
records on every shard) so that no cold start is measured; then ``records`` records are put with
``PutRecords`` as fast as LocalStack takes them (the burst), each put time kept by sequence number;
then records are put at a steady rate well below what the stack can take (paced), so that their
latency is the pipeline's and not the time spent queued behind the burst.

- throughput (burst): records / (last batch finished - first ``PutRecords`` call started);
- latency of a record: its batch finished - its ``PutRecords`` call started; p50 and p99 of the
  paced records, and of the burst (mostly waiting in the queue) for comparison.

LocalStack's poller reads one shard per poll interval (0.1 s, set by shardsafe-localstack's
``LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC``) and invokes functions as local processes, so
these numbers compare two handlers on one stack; they do not predict AWS.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from shardsafe_harness.logs import log_messages
from shardsafe_harness.resources import Resources
from shardsafe_harness.zips import package_zip

from bench import events
from shardsafe.ops.packaging import ZipContent, add_to_zip

FUNCTIONS = Path(__file__).resolve().parent / "functions"
ENTRY_POINTS = ("bench_entry.py", "floor_handler.py")
HANDLER_MODULES = {"floor": "floor_handler", "shardsafe": "handler"}
DONE_MARK = "BENCH-DONE "
PUT_RECORDS_LIMIT = 500
WARM_UP_PER_SHARD = 5


class BenchError(RuntimeError):
    """The end-to-end benchmark could not run; the message says what was wrong and what to do."""


class Put(NamedTuple):
    """A record put: when its ``PutRecords`` call started, its partition key (``<prefix>-<index>``), its shard."""

    at: float
    key: str
    shard: str


def bench_zip(lambda_zip: Path | None, extra: Mapping[str, ZipContent] | None = None) -> bytes:
    """shardsafe's Lambda zip (built if not given) plus the benchmark's entry points and ``extra`` entries."""
    package = lambda_zip if lambda_zip is not None and lambda_zip.is_file() else package_zip()
    with tempfile.TemporaryDirectory(prefix="shardsafe-bench-") as scratch:
        output = Path(scratch) / "bench.zip"
        add_to_zip(package, {**{name: FUNCTIONS / name for name in ENTRY_POINTS}, **(extra or {})}, output)
        return output.read_bytes()


def put_records(
    kinesis: Any, stream: str, payloads: Sequence[bytes], key_prefix: str, first: int = 0
) -> dict[str, Put]:
    """Put every payload (PutRecords, 500 a call, failed entries put again); sequence number -> Put.

    The n-th payload's partition key is ``<key_prefix>-<first + n>``: what names it afterwards.
    """
    put_at: dict[str, Put] = {}
    pending = [(f"{key_prefix}-{first + index}", data) for index, data in enumerate(payloads)]
    attempts = 0
    while pending:
        attempts += 1
        if attempts > 50:
            raise BenchError(f"PutRecords kept failing: {len(pending)} records not accepted after 50 calls")
        retry = []
        for start in range(0, len(pending), PUT_RECORDS_LIMIT):
            chunk = pending[start : start + PUT_RECORDS_LIMIT]
            called = time.time()
            response = kinesis.put_records(
                StreamName=stream, Records=[{"Data": data, "PartitionKey": key} for key, data in chunk]
            )
            for entry, item in zip(response["Records"], chunk, strict=True):
                if "SequenceNumber" in entry:
                    put_at[entry["SequenceNumber"]] = Put(called, item[0], entry["ShardId"])
                else:
                    retry.append(item)
        pending = retry
        if pending:
            time.sleep(0.2)
    return put_at


def records_per_call(rate: float) -> int:
    """How many records each of put_paced's ten calls a second puts."""
    return max(1, round(rate / 10))


def put_paced(
    kinesis: Any, stream: str, payloads: Sequence[bytes], rate: float, key_prefix: str
) -> dict[str, Put]:
    """Put the payloads at ``rate`` records per second, ten calls a second, in order; sequence number -> Put."""
    per_call = records_per_call(rate)
    put_at: dict[str, Put] = {}
    started = time.monotonic()
    for call, start in enumerate(range(0, len(payloads), per_call)):
        time.sleep(max(0.0, started + call / 10 - time.monotonic()))  # the pace itself, not a wait
        put_at.update(put_records(kinesis, stream, payloads[start : start + per_call], key_prefix, start))
    return put_at


def done_lines(logs: Any, function: str) -> list[dict[str, Any]]:
    """Every ``BENCH-DONE`` line the function has logged so far."""
    lines = []
    for message in log_messages(logs, f"/aws/lambda/{function}"):
        line = message.strip()
        if line.startswith(DONE_MARK):
            lines.append(json.loads(line.removeprefix(DONE_MARK)))
    return lines


def wait_for(logs: Any, function: str, sequence_numbers: set[str], deadline_s: float) -> dict[str, float]:
    """Sequence number -> time its batch finished, once every one is in the log (or the deadline passes)."""
    give_up = time.monotonic() + deadline_s
    while True:
        finished: dict[str, float] = {}
        for line in done_lines(logs, function):
            for sequence_number in line["sequenceNumbers"]:
                if sequence_number in sequence_numbers:
                    finished.setdefault(sequence_number, line["finished"])
        if len(finished) == len(sequence_numbers):
            return finished
        if time.monotonic() > give_up:
            raise BenchError(
                f"{function}: {len(finished)} of {len(sequence_numbers)} records processed after "
                f"{deadline_s:.0f} s; is the event source mapping polling? See LocalStack's log"
            )
        time.sleep(1.0)


def run_one(
    resources: Resources,
    contender: str,
    shards: int,
    code: bytes,
    *,
    records: int,
    record_size: int,
    batch_size: int,
    deadline_s: float,
    paced: int,
    paced_rate: float,
) -> dict[str, Any]:
    """One contender on a stream of ``shards`` shards: warm up, a burst of ``records``, then ``paced`` records."""
    name = f"{resources.prefix}-{contender}-{shards}-{uuid.uuid4().hex[:4]}"
    function = resources.function(
        name,
        code,
        handler="bench_entry.lambda_handler",
        memory_mb=1024,
        environment={
            "BENCH_HANDLER_MODULE": HANDLER_MODULES[contender],
            "SHARDSAFE_QUARANTINE_QUEUE_URL": resources.queue(f"{name}-quarantine"),
            "AWS_ENDPOINT_URL": resources.endpoint,
        },
    )
    stream_arn = resources.stream(name, shards)
    resources.mapping(stream_arn, function, batch_size)
    payloads = [events.payload(record_size, n) for n in range(16)]

    warm = put_records(
        resources.client("kinesis"), name, [payloads[0]] * (WARM_UP_PER_SHARD * shards * 4), "warm"
    )
    wait_for(resources.client("logs"), function, set(warm), deadline_s)

    put_at = put_records(
        resources.client("kinesis"), name, [payloads[n % 16] for n in range(records)], "load"
    )
    finished = wait_for(resources.client("logs"), function, set(put_at), deadline_s)
    burst = sorted(finished[sequence] - put.at for sequence, put in put_at.items())
    elapsed = max(finished.values()) - min(put.at for put in put_at.values())

    paced_at = put_paced(
        resources.client("kinesis"), name, [payloads[n % 16] for n in range(paced)], paced_rate, "paced"
    )
    paced_finished = wait_for(resources.client("logs"), function, set(paced_at), deadline_s)
    steady = sorted(paced_finished[sequence] - put.at for sequence, put in paced_at.items())
    return {
        "contender": contender,
        "shards": shards,
        "records": records,
        "seconds": elapsed,
        "records_per_second": records / elapsed,
        "p50_ms": _percentile(steady, 50) * 1000,
        "p99_ms": _percentile(steady, 99) * 1000,
        "burst_p50_ms": _percentile(burst, 50) * 1000,
        "burst_p99_ms": _percentile(burst, 99) * 1000,
    }


def _percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * percent // 100))
    return sorted_values[int(rank) - 1]


def measure(
    endpoint: str | None = None,
    *,
    lambda_zip: Path | None = None,
    shard_counts: Sequence[int] = (1, 4),
    records: int = 2000,
    record_size: int = 1024,
    batch_size: int = 100,
    repetitions: int = 2,
    paced: int = 300,
    paced_rate: float = 50.0,
    deadline_s: float = 180.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Both contenders for each shard count, ``repetitions`` times in alternating order; medians."""
    endpoint = endpoint or os.environ.get("LOCALSTACK_ENDPOINT")
    if not endpoint:
        raise BenchError(
            "no LocalStack: set LOCALSTACK_ENDPOINT, or run `python -m bench` (it starts the embedded one)"
        )
    resources = Resources(endpoint, prefix="bench")
    code = bench_zip(lambda_zip)
    sizes: dict[str, Any] = {
        "records": records,
        "record_size": record_size,
        "batch_size": batch_size,
        "deadline_s": deadline_s,
        "paced": paced,
        "paced_rate": paced_rate,
    }
    runs: list[dict[str, Any]] = []
    for shards in shard_counts:
        for repetition in range(repetitions):
            order = ("floor", "shardsafe") if repetition % 2 == 0 else ("shardsafe", "floor")
            for contender in order:
                try:  # each run on its own stream and function, deleted before the next one starts
                    run = run_one(resources, contender, shards, code, **sizes)
                finally:
                    for failure in resources.clean():  # LocalStack is thrown away anyway
                        print(f"  (cleanup failed: {failure})")
                runs.append(run)
                if progress is not None:
                    progress(
                        f"{contender:<10} {shards} shard(s): burst {run['records_per_second']:5.0f} records/s; "
                        f"paced {paced_rate:.0f}/s: p50 {run['p50_ms']:5.0f} ms, p99 {run['p99_ms']:5.0f} ms"
                    )
    summary = []
    for shards in shard_counts:
        for contender in ("floor", "shardsafe"):
            mine = [run for run in runs if run["shards"] == shards and run["contender"] == contender]
            summary.append(
                {
                    "contender": contender,
                    "shards": shards,
                    "records_per_second": statistics.median(run["records_per_second"] for run in mine),
                    "p50_ms": statistics.median(run["p50_ms"] for run in mine),
                    "p99_ms": statistics.median(run["p99_ms"] for run in mine),
                    "burst_p50_ms": statistics.median(run["burst_p50_ms"] for run in mine),
                    "burst_p99_ms": statistics.median(run["burst_p99_ms"] for run in mine),
                }
            )
    return {
        "records": records,
        "record_size": record_size,
        "batch_size": batch_size,
        "repetitions": repetitions,
        "paced": paced,
        "paced_rate": paced_rate,
        "poll_interval_s": "0.1 (LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC, set by shardsafe-localstack)",
        "summary": summary,
        "runs": runs,
    }
