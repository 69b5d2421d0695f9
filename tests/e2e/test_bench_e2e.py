"""The end-to-end benchmark runs on LocalStack, once, tiny: only the results' shape is checked."""

from __future__ import annotations

from pathlib import Path

from bench import e2e_localstack


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
