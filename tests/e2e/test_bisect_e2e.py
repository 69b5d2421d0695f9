"""Bisect on function error on the embedded LocalStack: one crashing record in a batch of 100.

With BisectBatchOnFunctionError the batch is split until the crashing record is alone: the 99
others reach the function in stream order and only that record reaches the on-failure destination
(with its payload when the destination is S3). With the emulation switched off for the mapping
(its ``shardsafe-localstack:bisect=off`` tag: stock LocalStack's behaviour) the whole batch goes there.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.e2e.esm_support import Pipeline, batch_info, pipeline_fixture, wait_until

pytestmark = pytest.mark.e2e

RECORDS = 100
CRASH_AT = 42
RETRIES = 1
DEADLINE_S = 180


@pytest.fixture
def pipeline(localstack_endpoint: str) -> Iterator[Pipeline]:
    yield from pipeline_fixture(localstack_endpoint)


def feed(pipeline: Pipeline, **mapping: object) -> list[str]:
    """100 records on one shard, the 42nd crashing the function; mapped once they are all there."""
    pipeline.create_stream()
    pipeline.create_function()
    payloads = [b"crash" if n == CRASH_AT else f'{{"n": {n}}}'.encode() for n in range(1, RECORDS + 1)]
    sequence_numbers = pipeline.put(payloads)
    pipeline.map(
        BatchSize=RECORDS,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=RETRIES,
        **mapping,
    )
    return sequence_numbers


def test_a_crashing_record_is_isolated_and_the_99_others_are_processed_in_order(pipeline: Pipeline) -> None:
    pipeline.create_queue_destination()
    sequence_numbers = feed(pipeline)
    crash = sequence_numbers[CRASH_AT - 1]
    reported: list[dict[str, object]] = []

    def settled() -> bool:
        reported.extend(pipeline.failure_records())
        return bool(reported) and sum(len(b) for b in pipeline.batches()) >= RECORDS - 1

    wait_until(settled, DEADLINE_S, "99 processed records and a failure record")
    processed = [n for batch in pipeline.batches() for n in batch]
    assert processed == [n for n in sequence_numbers if n != crash], "each good record once, in stream order"
    (record,) = reported
    info = batch_info(record)
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (crash, crash, 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"  # type: ignore[index]
    assert record["requestContext"]["approximateInvokeCount"] == RETRIES + 1  # type: ignore[index]


def test_an_s3_destination_gets_the_crashing_record_with_its_payload(pipeline: Pipeline) -> None:
    pipeline.create_bucket_destination()
    sequence_numbers = feed(pipeline)
    crash = sequence_numbers[CRASH_AT - 1]

    wait_until(lambda: bool(pipeline.failure_records()), DEADLINE_S, "a failure record in the bucket")
    (record,) = pipeline.failure_records()
    assert batch_info(record)["batchSize"] == 1
    (failed,) = record["payload"]["Records"]
    assert failed["kinesis"]["sequenceNumber"] == crash
    assert base64.b64decode(failed["kinesis"]["data"]) == b"crash"


def test_with_bisect_switched_off_for_the_mapping_the_whole_batch_is_reported(pipeline: Pipeline) -> None:
    pipeline.create_queue_destination()
    sequence_numbers = feed(pipeline, Tags={"shardsafe-localstack:bisect": "off"})
    reported: list[dict[str, object]] = []

    wait_until(
        lambda: bool(reported.extend(pipeline.failure_records()) or reported), DEADLINE_S, "a failure record"
    )
    (record,) = reported
    info = batch_info(record)
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        sequence_numbers[0],
        sequence_numbers[-1],
        RECORDS,
    )
    assert pipeline.batches() == [], "stock LocalStack retries the whole batch, which always crashes"
