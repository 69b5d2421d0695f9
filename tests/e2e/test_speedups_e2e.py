"""The embedded LocalStack's speed patches (speedups.py) keep what they speed up: records, logs, metrics.

A mapping that polls again at once after a full batch still hands the function every record once,
in order, in full batches; Lambda's metrics published in batches add up to one datapoint per
invocation, as stock LocalStack's do. (That the poller does not wait between full batches is shown
on LocalStack's own poll loop in tests/localstack/test_speedups.py, without timing anything.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.esm_support import Pipeline, pipeline_fixture, wait_until

pytestmark = pytest.mark.e2e

RECORDS = 500
BATCH_SIZE = 100


@pytest.fixture
def pipeline(localstack_endpoint: str) -> Iterator[Pipeline]:
    yield from pipeline_fixture(localstack_endpoint)


def test_records_waiting_on_a_shard_reach_the_function_once_in_order_in_full_batches(
    pipeline: Pipeline,
) -> None:
    pipeline.create_stream()
    pipeline.create_function()
    sequence_numbers = pipeline.put([json.dumps({"n": n}).encode() for n in range(RECORDS)])
    pipeline.map(BatchSize=BATCH_SIZE)  # from the stream's start: all 500 are there at the first poll

    wait_until(lambda: sum(map(len, pipeline.batches())) >= RECORDS, 120, f"{RECORDS} records processed")
    batches = pipeline.batches()

    assert [len(batch) for batch in batches] == [BATCH_SIZE] * (RECORDS // BATCH_SIZE)
    assert [number for batch in batches for number in batch] == sequence_numbers


def metric_statistics(cloudwatch: Any, function_name: str, metric: str) -> dict[str, float]:
    now = datetime.now(UTC)
    datapoints = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    return {
        "Sum": sum(point["Sum"] for point in datapoints),
        "SampleCount": sum(point["SampleCount"] for point in datapoints),
    }


FAILS_ON_REQUEST = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {}
"""


def test_invocation_and_error_metrics_count_one_datapoint_per_invocation(pipeline: Pipeline) -> None:
    pipeline.create_function(FAILS_ON_REQUEST)
    lambda_client = pipeline.client("lambda")
    for payload in ({}, {}, {}, {"fail": True}):
        lambda_client.invoke(FunctionName=pipeline.name, Payload=json.dumps(payload).encode())
    cloudwatch = pipeline.client("cloudwatch")

    wait_until(
        lambda: metric_statistics(cloudwatch, pipeline.name, "Invocations")["Sum"] >= 4,
        30,
        "4 invocations counted",
    )
    wait_until(
        lambda: metric_statistics(cloudwatch, pipeline.name, "Errors")["Sum"] >= 1, 30, "1 error counted"
    )

    assert metric_statistics(cloudwatch, pipeline.name, "Invocations") == {"Sum": 4, "SampleCount": 4}
    assert metric_statistics(cloudwatch, pipeline.name, "Errors") == {"Sum": 1, "SampleCount": 1}
