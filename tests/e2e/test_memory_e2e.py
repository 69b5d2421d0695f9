"""The function's memory size on the embedded LocalStack: past it the invocation ends as on AWS.

Lambda kills a function that runs out of memory and reports ``Runtime.OutOfMemory`` ("Runtime
exited with error: signal: killed"); the process executor does the same, so a mapping retries,
bisects and reports such a record as AWS would.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.esm_support import Pipeline, batch_info, pipeline_fixture, wait_until

pytestmark = pytest.mark.e2e

MEMORY_MB = 128


@pytest.fixture
def pipeline(localstack_endpoint: str) -> Iterator[Pipeline]:
    yield from pipeline_fixture(localstack_endpoint)


def invoke(pipeline: Pipeline, megabytes: int) -> tuple[str | None, Any, str]:
    event = {
        "Records": [
            {
                "kinesis": {
                    "data": base64.b64encode(f"allocate:{megabytes}".encode()).decode(),
                    "sequenceNumber": "1",
                }
            }
        ]
    }
    response = pipeline.client("lambda").invoke(
        FunctionName=pipeline.name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    body = json.loads(response["Payload"].read() or b"null")
    return response.get("FunctionError"), body, base64.b64decode(response.get("LogResult", "")).decode()


def max_memory_used(tail: str) -> int:
    match = re.search(r"Max Memory Used: (\d+) MB", tail)
    assert match, tail
    return int(match.group(1))


def test_a_function_that_allocates_past_its_memory_size_is_killed_as_lambda_reports_it(
    pipeline: Pipeline,
) -> None:
    pipeline.create_function(memory_mb=MEMORY_MB)
    error, body, tail = invoke(pipeline, 2 * MEMORY_MB)

    assert error == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert "Runtime.OutOfMemory" in tail
    assert max_memory_used(tail) == MEMORY_MB

    error, _, _ = invoke(pipeline, 1)
    assert error is None, "the next invocation gets a fresh runtime"


def test_a_function_that_stays_under_its_memory_size_is_not_stopped(pipeline: Pipeline) -> None:
    pipeline.create_function(memory_mb=MEMORY_MB)
    error, _, tail = invoke(pipeline, MEMORY_MB // 2)

    assert error is None
    assert MEMORY_MB // 2 < max_memory_used(tail) < MEMORY_MB


def test_a_record_that_runs_the_function_out_of_memory_is_isolated_by_bisect(pipeline: Pipeline) -> None:
    pipeline.create_stream()
    pipeline.create_queue_destination()
    pipeline.create_function(memory_mb=MEMORY_MB)
    payloads = [f"allocate:{2 * MEMORY_MB}".encode() if n == 5 else b"allocate:1" for n in range(1, 9)]
    sequence_numbers = pipeline.put(payloads)
    pipeline.map(
        BatchSize=8, MaximumBatchingWindowInSeconds=1, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0
    )
    reported: list[dict[str, Any]] = []

    def settled() -> bool:
        reported.extend(pipeline.failure_records())
        return bool(reported) and sum(len(b) for b in pipeline.batches()) >= 7

    wait_until(settled, 120, "7 processed records and a failure record")
    (record,) = reported
    info = batch_info(record)
    assert (info["startSequenceNumber"], info["batchSize"]) == (sequence_numbers[4], 1)
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert [n for b in pipeline.batches() for n in b] == [n for i, n in enumerate(sequence_numbers) if i != 4]


def test_a_function_holding_too_much_memory_is_stopped_at_once_not_at_its_timeout(pipeline: Pipeline) -> None:
    pipeline.create_function(
        source="import time\ndef handler(event, context):\n    held = bytearray(256 * 1024 * 1024)\n"
        "    time.sleep(60)\n    return len(held)\n",
        memory_mb=MEMORY_MB,
        timeout=30,
    )
    started = time.monotonic()
    response = pipeline.client("lambda").invoke(FunctionName=pipeline.name, Payload=b"{}")
    body = json.loads(response["Payload"].read())

    assert body["errorType"] == "Runtime.OutOfMemory"
    assert time.monotonic() - started < 15, "killed while it ran, not when it ended"
