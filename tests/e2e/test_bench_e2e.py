"""The benchmark's parts on LocalStack run once, tiny: the results' shape, and what they count by identity.

No figure of time is compared here: targets are make bench's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import e2e_localstack, headline, report, stack_speed


def test_the_end_to_end_benchmark_measures_both_handlers(localstack_endpoint: str, lambda_zip: Path) -> None:
    result = e2e_localstack.measure(
        localstack_endpoint,
        lambda_zip=lambda_zip,
        shard_counts=(1,),
        records=30,
        repetitions=1,
        paced=10,
        deadline_s=120,
    )

    measured = [(row["contender"], row["shards"]) for row in result["summary"]]
    assert measured == [("floor", 1), ("shardsafe", 1)]
    for row in result["summary"]:
        assert row["records_per_second"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert 0 < row["burst_p50_ms"] <= row["burst_p99_ms"]


def test_the_stack_speed_part_reports_latency_and_each_side_of_throughput(localstack_endpoint: str) -> None:
    result = stack_speed.measure(
        localstack_endpoint, invokes=3, records=60, batch_sizes=(10,), shard_counts=(1,)
    )

    assert result["latency"]["count"] == 3
    assert 0 < result["latency"]["invoke"]["p50_ms"] <= result["latency"]["invoke"]["p99_ms"]
    [row] = result["rows"]
    assert (row["shards"], row["batch_size"]) == (1, 10)
    assert row["records_per_s"] > 0 and row["intake_per_s"] > 0 and row["intake_while_read_per_s"] > 0
    assert row["drain_per_s"] is not None and row["drain_per_s"] > 0  # six batches: a first and a last
    assert [raw["prefill"] for raw in result["raw"]] == [False, True]
    assert all(raw["records"] == 60 for raw in result["raw"])


@pytest.fixture(scope="module")
def headline_runs(localstack_endpoint: str, lambda_zip: Path) -> dict[str, dict[str, Any]]:
    result = headline.measure(
        localstack_endpoint, lambda_zip=lambda_zip, records=60, repetitions=1, deadline_s=90
    )
    return {run["contender"]: run for run in result["runs"]}


def test_the_headline_mapping_is_made_with_the_modules_defaults(headline_runs: dict[str, Any]) -> None:
    for run in headline_runs.values():
        assert run["mapping"] == {
            name: value
            for name, value in headline.MODULE_DEFAULTS.items()
            if name not in ("memory_size", "timeout")
        }


def test_the_headline_with_shardsafe_quarantines_the_poison_with_its_bytes_and_loses_no_good_record(
    headline_runs: dict[str, Any],
) -> None:
    run = headline_runs["shardsafe"]

    assert run["settled"]
    assert (run["poison_place"], run["poison_bytes_kept"]) == ("quarantined", True)
    assert (run["good_processed"], run["good_on_failure"], run["good_missing"]) == (59, 0, 0)
    assert (run["poison_invocations"], run["extra_deliveries"]) == (1, 0)
    assert run["stall_ms"] is not None


def test_the_headline_with_powertools_retries_the_poison_then_reports_it_with_the_records_after_it(
    headline_runs: dict[str, Any],
) -> None:
    run = headline_runs["powertools"]
    poison = int(run["poison_key"].rsplit("-", 1)[1])

    assert run["settled"]
    assert (run["poison_place"], run["poison_bytes_kept"]) == ("on-failure", True)
    retries = headline.MODULE_DEFAULTS["maximum_retry_attempts"]
    assert run["poison_invocations"] == 1 + retries  # a partial batch response is retried, not bisected
    # What goes with it is the rest of its batch: the good records right after it, by partition key.
    lost = run["good_on_failure_keys"]
    assert lost == [f"load-{poison + 1 + n}" for n in range(len(lost))]
    assert run["extra_deliveries"] == retries * (1 + len(lost))
    assert run["good_processed"] + run["good_on_failure"] == 59 and run["good_missing"] == 0


def test_the_headline_sees_good_records_lost_when_a_raising_handler_runs_without_bisect(
    localstack_endpoint: str, lambda_zip: Path
) -> None:
    result = headline.measure(
        localstack_endpoint,
        lambda_zip=lambda_zip,
        contenders=("raises",),
        records=60,
        repetitions=1,
        bisect=False,
        deadline_s=90,
    )
    [run] = result["runs"]
    poison = int(run["poison_key"].rsplit("-", 1)[1])
    indices = [int(key.rsplit("-", 1)[1]) for key in run["good_on_failure_keys"]]

    assert run["settled"] and run["poison_place"] == "on-failure"
    assert run["poison_invocations"] == 1 + headline.MODULE_DEFAULTS["maximum_retry_attempts"]
    # The whole batch goes: good records on both sides of the poison, none processed twice or missing.
    assert run["good_on_failure"] == len(indices) > 0
    assert min(indices) < poison < max(indices)  # the poison is the middle of its put call
    assert indices == [n for n in range(min(indices), max(indices) + 1) if n != poison]
    assert run["good_missing"] == 0
    assert "good records given up on: in the on-failure destination | 0 of" not in (
        report.headline_table(result)
    )
