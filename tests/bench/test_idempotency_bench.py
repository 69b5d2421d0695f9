"""The idempotency benchmark run once, at tiny sizes, on moto in process: the shape of its results, and
that each contender did the work it is timed for (nothing here is timed or compared)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench import idempotency, report


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )


def test_the_memory_part_reports_each_contender_and_the_overhead() -> None:
    result = idempotency.measure_memory((5,), repetitions=1, progress=lambda line: None)
    (case,) = result["cases"]
    assert set(case["us_per_record"]["first"]) == {"shardsafe", "shardsafe + memory"}
    assert set(case["overhead_us"]["again"]) == {"shardsafe + memory"}
    assert all(value > 0 for value in case["us_per_record"]["first"].values())


def test_the_dynamodb_part_counts_each_contenders_store_calls(dynamodb: Any) -> None:
    result = idempotency.measure_dynamodb(dynamodb, (4,), repetitions=1, progress=lambda line: None)
    (case,) = result["cases"]
    calls = case["calls_per_batch"]
    # shardsafe: one claim transaction and one completion per record; skipped again in one transaction.
    assert calls["first"]["shardsafe + DynamoDB"] == {"TransactWriteItems": 1, "PutItem": 4}
    assert calls["again"]["shardsafe + DynamoDB"] == {"TransactWriteItems": 1}
    assert calls["first"]["shardsafe + DynamoDB, batch handler"] == {
        "TransactWriteItems": 1,
        "BatchWriteItem": 1,
    }
    # Powertools, as its docs show it: a conditional put and an update per record; again, a put each.
    assert calls["first"]["Powertools + DynamoDB"] == {"PutItem": 4, "UpdateItem": 4}
    assert calls["again"]["Powertools + DynamoDB"] == {"PutItem": 4}
    assert calls["first"]["shardsafe"] == calls["first"]["Powertools"] == {}
    assert dynamodb.list_tables()["TableNames"] == [], "every table made for a contender is deleted"


def test_the_report_has_the_idempotency_table_and_targets(dynamodb: Any) -> None:
    results = {
        "memory": idempotency.measure_memory((3,), repetitions=1, progress=lambda line: None),
        "dynamodb": idempotency.measure_dynamodb(dynamodb, (3,), repetitions=1, progress=lambda line: None),
    }
    text = report.markdown(
        {
            "meta": {
                "date": "d",
                "commit": "c",
                "python": "3",
                "powertools": "3",
                "cpus": 2,
                "load_average": "0",
            },
            "idempotency": results,
            "targets": report.targets({"idempotency": results}),
        }
    )
    assert "| dynamodb | 3 | Powertools + DynamoDB |" in text
    assert "| memory | 3 | shardsafe + memory |" in text
    assert "less overhead per record than Powertools'" in text
