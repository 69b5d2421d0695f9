"""MaximumBatchingWindowInSeconds on the embedded LocalStack: records put one at a time are gathered.

Stock LocalStack 2026.3.0 already honours the window (its stream poller gathers each shard's records
in a Batcher with the mapping's BatchSize and window); this test shows it, side by side with a
mapping without a window, fed the same records at the same pace.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.esm_support import Pipeline, pipeline_fixture, wait_until

pytestmark = pytest.mark.e2e

RECORDS = 12
PACE_S = 0.25
WINDOW_S = 3


@pytest.fixture
def windowed(localstack_endpoint: str) -> Iterator[Pipeline]:
    yield from pipeline_fixture(localstack_endpoint)


@pytest.fixture
def immediate(localstack_endpoint: str) -> Iterator[Pipeline]:
    yield from pipeline_fixture(localstack_endpoint)


def test_a_batching_window_gathers_records_put_one_at_a_time_into_fewer_larger_batches(
    windowed: Pipeline, immediate: Pipeline
) -> None:
    for pipeline, window in ((windowed, WINDOW_S), (immediate, 0)):
        pipeline.create_stream()
        pipeline.create_function()
        pipeline.map(BatchSize=10, MaximumBatchingWindowInSeconds=window)
    # Both mappings polling before the first record: LocalStack marks a mapping Enabled as its poll
    # loop starts, right before the first (empty) poll.
    for pipeline in (windowed, immediate):
        wait_until(
            lambda p=pipeline: p.mapping_state() == "Enabled", 60, f"mapping of {pipeline.name} enabled"
        )
    started = time.monotonic()
    for n in range(RECORDS):
        for pipeline in (windowed, immediate):
            pipeline.put_one(f'{{"n": {n}}}'.encode())
        time.sleep(PACE_S)  # the pace of the load, not a wait: records arrive one at a time
    putting_s = time.monotonic() - started

    for pipeline in (windowed, immediate):
        wait_until(
            lambda p=pipeline: sum(map(len, p.batches())) >= RECORDS, 60, f"{RECORDS} records processed"
        )
    gathered = [len(batch) for batch in windowed.batches()]
    one_by_one = [len(batch) for batch in immediate.batches()]

    assert sum(gathered) == sum(one_by_one) == RECORDS
    # Records keep arriving for putting_s: one batch per window, give or take the windows at each end.
    assert len(gathered) <= putting_s / WINDOW_S + 2, (
        f"{putting_s:.1f} s of puts, {WINDOW_S} s window: {gathered}"
    )
    assert len(gathered) < len(one_by_one), f"with a window {gathered}, without {one_by_one}"
    assert max(gathered) >= 4
