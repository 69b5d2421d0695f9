"""How fast the embedded LocalStack runs Lambda: warm invocation latency and put-to-processed throughput.

``measure(endpoint)`` deploys a function that returns at once, invokes it warm many times (and
calls GetFunction as many times, the floor any API call pays), then maps it to a Kinesis stream
and times records from the first put to the last one the function has seen. It returns a dict
of figures, so ``make bench`` can report it. The function counts the records it sees in a file on
this machine, so the throughput part needs the embedded LocalStack (the process executor runs
functions on the host); the latency part works against any LocalStack.

    python -m shardsafe_localstack.latency --endpoint http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/shardsafe-latency"
RETURNS_AT_ONCE = "def handler(event, context):\n    return None\n"
# Notes the records of each batch and when, in a file named by the function's environment (O_APPEND writes
# of one short line are atomic), so the measurement sees when the last record was processed.
COUNTS_RECORDS = """\
import os
import time

PATH = os.environ["SHARDSAFE_LATENCY_COUNTS"]


def handler(event, context):
    records = event.get("Records", [])
    fd = os.open(PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"%d %f\\n" % (len(records), time.time()))
    finally:
        os.close(fd)
    return None
"""
PUT_CHUNK = 500  # PutRecords takes at most 500 records


def _client(endpoint: str, service: str) -> Any:
    from shardsafe.ops.aws import make_client

    return make_client(service, endpoint_url=endpoint, region="us-east-1", credentials=("test", "test"))


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (fraction in 0..1)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def _timed(call: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p90_ms": round(percentile(samples, 0.9), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
    }


def _create_function(lambda_client: Any, source: str, environment: dict[str, str] | None = None) -> str:
    name = f"latency-{uuid.uuid4().hex[:10]}"
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": _zip(source)},
        Timeout=30,
        Environment={"Variables": environment or {}},
    )
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.5})
    return name


def measure_invoke(endpoint: str, count: int = 50, trace_path: str | None = None) -> dict[str, Any]:
    """Warm Invoke (RequestResponse) of a function that returns at once, and GetFunction, ``count`` times each.

    With ``trace_path`` (the file LocalStack traces to, SHARDSAFE_LOCALSTACK_TRACE), the result also
    has the median time between consecutive hops of the warm invocations ("breakdown").
    """
    lambda_client = _client(endpoint, "lambda")
    name = _create_function(lambda_client, RETURNS_AT_ONCE)
    client_hops: list[tuple[str, float, float]] = []
    try:
        lambda_client.invoke(FunctionName=name, Payload=b"{}")  # the cold start, not counted

        def invoke() -> None:
            sent = time.time()
            response = lambda_client.invoke(FunctionName=name, Payload=b"{}")
            response["Payload"].read()
            client_hops.append((response["ResponseMetadata"]["RequestId"], sent, time.time()))
            if response.get("FunctionError"):
                raise RuntimeError(f"the latency probe {name} failed: {response}")

        invokes = _timed(invoke, count)
        get_function = _timed(lambda: lambda_client.get_function(FunctionName=name), count)
    finally:
        lambda_client.delete_function(FunctionName=name)
    result: dict[str, Any] = {
        "count": count,
        "invoke": _summary(invokes),
        "get_function": _summary(get_function),
    }
    if trace_path:
        result["breakdown"] = breakdown(trace_path, client_hops)
    return result


def breakdown(trace_path: str, client_hops: list[tuple[str, float, float]]) -> dict[str, float]:
    """The median milliseconds between consecutive hops (trace.HOPS) of the invocations the client timed.

    Keys read ``"from -> to"``. The runtime's own acknowledgements and posts overlap these steps
    and are left out; a hop missing from an invocation is skipped for it.
    """
    from shardsafe_localstack.trace import HOPS

    by_id: dict[str, dict[str, float]] = {}
    for line in Path(trace_path).read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        by_id.setdefault(entry["id"], {}).setdefault(entry["hop"], entry["t"])
    steps: dict[str, list[float]] = {}
    for request_id, sent, received in client_hops:
        times = dict(by_id.get(request_id, {}), **{"client.sent": sent, "client.received": received})
        present = [hop for hop in HOPS if hop in times]
        for before, after in itertools.pairwise(present):
            steps.setdefault(f"{before} -> {after}", []).append((times[after] - times[before]) * 1000)
    result = {step: round(statistics.median(samples), 2) for step, samples in steps.items()}
    total = [(received - sent) * 1000 for _, sent, received in client_hops]
    result["total"] = round(statistics.median(total), 2) if total else 0.0
    return result


def measure_throughput(
    endpoint: str,
    records: int = 3000,
    batch_size: int = 100,
    shards: int = 1,
    prefill: bool = False,
    deadline_s: float = 300.0,
) -> dict[str, Any]:
    """Put ``records`` on a fresh stream mapped to a function that returns at once; time until all are processed.

    By default the mapping reads the stream (from LATEST, warmed up by one record a shard) while
    the records are put: put-to-processed. With ``prefill`` the records are put first and the
    mapping created afterwards (from TRIM_HORIZON), which measures how fast the mapping alone
    drains a shard. Either way ``processed_per_s`` is the function's pace from the end of its
    first batch to the end of its last (the handler notes the time of each batch).
    """
    lambda_client = _client(endpoint, "lambda")
    kinesis = _client(endpoint, "kinesis")
    stream = f"latency-{uuid.uuid4().hex[:10]}"
    counts = Path(tempfile.mkdtemp(prefix="shardsafe-latency-")) / "counts"
    counts.touch()
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.5})
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    name = _create_function(lambda_client, COUNTS_RECORDS, {"SHARDSAFE_LATENCY_COUNTS": str(counts)})
    mapping = ""

    def create_mapping(position: str) -> str:
        return str(
            lambda_client.create_event_source_mapping(
                FunctionName=name,
                EventSourceArn=stream_arn,
                StartingPosition=position,
                BatchSize=batch_size,
                MaximumBatchingWindowInSeconds=0,
            )["UUID"]
        )

    try:
        if prefill:
            lambda_client.invoke(FunctionName=name, Payload=b'{"Records": []}')  # warm, counts 0 records
        else:
            mapping = create_mapping("LATEST")
            _wait_enabled(lambda_client, mapping)
            _warm_up(kinesis, stream, counts, shards)
        seen_before = len(_batches(counts))
        started = time.perf_counter()
        for offset in range(0, records, PUT_CHUNK):
            chunk = range(offset, min(records, offset + PUT_CHUNK))
            kinesis.put_records(
                StreamName=stream,
                Records=[{"Data": b"%d" % i, "PartitionKey": f"k{i}"} for i in chunk],
            )
        put_s = time.perf_counter() - started  # kinesis-mock takes records in slowly: see put_s
        if prefill:
            started = time.perf_counter()
            mapping = create_mapping("TRIM_HORIZON")
        deadline = started + deadline_s
        while sum(n for n, _ in _batches(counts)[seen_before:]) < records:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"not all {records} records processed after {deadline_s} s")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        batches = _batches(counts)[seen_before:]
    finally:
        if mapping:
            lambda_client.delete_event_source_mapping(UUID=mapping)
        lambda_client.delete_function(FunctionName=name)
        kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
        counts.unlink(missing_ok=True)
        counts.parent.rmdir()
    first_to_last_s = batches[-1][1] - batches[0][1]
    after_first = records - batches[0][0]
    return {
        "records": records,
        "shards": shards,
        "batch_size": batch_size,
        "prefill": prefill,
        "put_s": round(put_s, 3),
        "elapsed_s": round(elapsed, 3),
        "records_per_s": round(records / elapsed, 1),
        "processed_per_s": round(after_first / first_to_last_s, 1) if first_to_last_s > 0 else None,
        "batches": len(batches),
    }


def _wait_enabled(lambda_client: Any, mapping: str, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while lambda_client.get_event_source_mapping(UUID=mapping)["State"] != "Enabled":
        if time.monotonic() > deadline:
            raise TimeoutError(f"event source mapping {mapping} not Enabled after {deadline_s} s")
        time.sleep(0.2)


def _warm_up(kinesis: Any, stream: str, counts: Path, shards: int, deadline_s: float = 60.0) -> None:
    """One record per shard through the mapping, so the poller is reading and the function is warm."""
    shard_ids = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    for shard_id in shard_ids:
        hash_key = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]
        start = next(s for s in hash_key if s["ShardId"] == shard_id)["HashKeyRange"]["StartingHashKey"]
        kinesis.put_record(StreamName=stream, Data=b"warm", PartitionKey="warm", ExplicitHashKey=start)
    deadline = time.monotonic() + deadline_s
    while _processed(counts) < shards:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the warm-up records were not processed after {deadline_s} s")
        time.sleep(0.05)
    time.sleep(0.5)


def _batches(counts: Path) -> list[tuple[int, float]]:
    """(records, epoch seconds) of each batch the function has seen, in the order it noted them."""
    batches = []
    for line in counts.read_text().splitlines():
        size, at = line.split()
        batches.append((int(size), float(at)))
    return batches


def _processed(counts: Path) -> int:
    return sum(size for size, _ in _batches(counts))


def measure(
    endpoint: str,
    invokes: int = 50,
    records: int = 3000,
    batch_sizes: tuple[int, ...] = (100,),
    shard_counts: tuple[int, ...] = (1,),
    prefill: tuple[bool, ...] = (False, True),
    trace_path: str | None = None,
) -> dict[str, Any]:
    """Warm invocation latency and throughput of the LocalStack at ``endpoint``, for ``make bench``.

    ``{"latency": {"count", "invoke": {"p50_ms", "p90_ms", "p99_ms"}, "get_function": {...}},
    "throughput": [{"records", "shards", "batch_size", "prefill", "put_s", "elapsed_s",
    "records_per_s", "processed_per_s", "batches"}, ...]}``, one throughput entry per shard count,
    batch size and prefill (see measure_throughput): records_per_s is put-to-processed (prefill
    False) or mapping-to-processed (prefill True).
    """
    return {
        "latency": measure_invoke(endpoint, invokes, trace_path),
        "throughput": [
            measure_throughput(
                endpoint, records=records, batch_size=batch_size, shards=shards, prefill=filled
            )
            for shards in shard_counts
            for batch_size in batch_sizes
            for filled in prefill
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default=os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566"))
    parser.add_argument("--invokes", type=int, default=50)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, action="append", dest="batch_sizes")
    parser.add_argument("--shards", type=int, action="append", dest="shard_counts")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--prefill", choices=("no", "yes", "both"), default="both")
    parser.add_argument("--trace", help="the file LocalStack traces to (SHARDSAFE_LOCALSTACK_TRACE)")
    args = parser.parse_args(argv)
    if args.no_throughput:
        result: dict[str, Any] = {"latency": measure_invoke(args.endpoint, args.invokes, args.trace)}
    else:
        result = measure(
            args.endpoint,
            invokes=args.invokes,
            records=args.records,
            batch_sizes=tuple(args.batch_sizes or (100,)),
            shard_counts=tuple(args.shard_counts or (1,)),
            prefill={"no": (False,), "yes": (True,), "both": (False, True)}[args.prefill],
            trace_path=args.trace,
        )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
