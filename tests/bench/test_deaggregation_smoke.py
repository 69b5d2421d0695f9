"""The KPL de-aggregation benchmark runs, once, tiny: every contender finds the same user records."""

from __future__ import annotations

import base64

import pytest

from bench import deaggregation, report


def test_the_contenders_agree_and_the_table_names_each() -> None:
    result = deaggregation.measure(aggregates=3, per_aggregate=4, repetitions=1, min_user_records=12)

    assert set(result["us_per_user_record"]) == set(deaggregation.CONTENDERS)
    assert all(value > 0 for value in result["us_per_user_record"].values())
    assert result["clean_batch_ns_per_record"] > 0
    assert set(result["ratios"]) == {"shardsafe/floor", "shardsafe/aws_kinesis_agg"}
    table = deaggregation.table(result)
    assert all(f"| {name} |" in table for name in deaggregation.CONTENDERS)
    meta = dict.fromkeys(("date", "commit", "python", "powertools", "cpus", "load_average"), "-")
    assert "### KPL de-aggregation" in report.markdown({"meta": meta, "deaggregation": result})


def test_a_contender_that_loses_a_user_record_is_caught_before_timing() -> None:
    records = deaggregation.aggregated_event(2, 3, 100)["Records"]
    deaggregation.check_same_work(records, 6)
    broken = [
        dict(records[0], kinesis={**records[0]["kinesis"], "data": base64.b64encode(b"{}").decode()}),
        records[1],
    ]
    with pytest.raises(RuntimeError, match="disagree"):
        deaggregation.check_same_work(broken, 6)
