"""The model part of the benchmarks runs, once, at tiny sizes: nothing here is timed or compared, only that
every contender does the same work and the results have the shape the report reads."""

from __future__ import annotations

import pytest

from bench import contenders, events, model_cost, report
from bench.functions import model_handler, powertools_model_handler


def test_every_model_contender_sets_aside_exactly_the_poison_records() -> None:
    result = model_cost.measure((100,), (20,), (0.0, 0.1), repetitions=2, min_records=20, min_total_records=0)

    clean, poisoned = result["cases"]
    assert poisoned["poison_records"] == 2 and clean["poison_records"] == 0
    for case in result["cases"]:
        assert set(case["us_per_record"]) == set(model_cost.CONTENDERS)
        assert all(value > 0 for value in case["us_per_record"].values())
        assert set(case["ratios"]) == {"shardsafe/floor", "shardsafe/powertools"}


@pytest.mark.parametrize("name", ["floor", "powertools"])
def test_the_other_contenders_report_the_poison_as_batch_item_failures(name: str) -> None:
    event = events.kinesis_event(10, 1024, poison_rate=0.2)
    poison = sorted(events.poison_indices(10, 0.2))

    response = model_cost.make(name, contenders.MemorySqsClient())(event, contenders.LambdaContext())

    assert response["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][index]["kinesis"]["sequenceNumber"]} for index in poison
    ]


def test_the_cold_start_handlers_validate_the_bench_records_with_the_model() -> None:
    event = events.kinesis_event(5, 1024)
    for handler in (model_handler.lambda_handler, powertools_model_handler.lambda_handler):
        assert handler(event, contenders.LambdaContext()) == {"batchItemFailures": []}


def test_an_unknown_model_contender_is_named() -> None:
    with pytest.raises(ValueError, match="unknown model contender 'fastest'"):
        model_cost.make("fastest", contenders.MemorySqsClient())


def test_the_report_has_the_model_table_and_its_target() -> None:
    results = {
        "meta": {
            "date": "today",
            "commit": "abc",
            "python": "3.13",
            "powertools": "3",
            "cpus": 2,
            "load_average": "0",
        },
        "model_cost": model_cost.measure(
            (100,), (10,), (0.0,), repetitions=1, min_records=10, min_total_records=0
        ),
    }
    results["targets"] = report.targets(results)
    table = report.markdown(results)

    assert [check["target"] for check in results["targets"]] == [
        "per record with a pydantic model, 0 % poison: never slower than Powertools' parser"
    ]
    assert "| record | batch | poison | floor | shardsafe | Powertools parser |" in table
    assert "| 100 B | 10 | 0% |" in table
