"""The benchmarks run, once, at tiny sizes: nothing here is timed or compared, only the results' shape."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from bench import cold_start, contenders, events, handler_cost, memory, report
from bench.functions import floor_handler

CONTENDERS = {"floor", "naive", "shardsafe", "powertools"}
META = {
    "date": "today",
    "commit": "abc1234",
    "python": "3.13",
    "powertools": "3",
    "cpus": 2,
    "load_average": "0.0",
}


def test_synthetic_events_have_the_asked_sizes_and_poison_share() -> None:
    event = events.kinesis_event(200, 1024, poison_rate=0.1)

    assert len(event["Records"]) == 200
    assert 900 <= events.payload_bytes(event) / 200 <= 1100
    assert len(events.poison_indices(200, 0.1)) == 20


def test_every_contender_sets_aside_exactly_the_poison_records() -> None:
    case = handler_cost.measure_case(100, 20, 0.1, repetitions=2, min_records=20)

    assert case["poison_records"] == 2
    assert set(case["us_per_record"]) == CONTENDERS
    assert all(value > 0 for value in case["us_per_record"].values())
    assert all(value > 0 for value in case["cpu_us_per_record"].values())
    assert set(case["ratios"]) == {"shardsafe/floor", "shardsafe/naive", "shardsafe/powertools"}
    assert all(len(samples) == 2 for samples in case["samples_us_per_record"].values())


def test_what_mutation_safety_costs_is_measured_for_every_safeguard() -> None:
    safety = handler_cost.measure_mutation_safety(100, 10, repetitions=2, min_records=10)

    assert set(safety["cpu_us_per_record"]) == set(handler_cost.MUTATION_VARIANTS)
    assert all(value > 0 for value in safety["cpu_us_per_record"].values())
    assert len(safety["costs_us_per_record"]) == 2
    assert "| safeguard | costs per record |" in report.markdown({"meta": META, "mutation_safety": safety})


@pytest.mark.parametrize("name", ["floor", "naive"])
def test_the_plain_loops_report_poison_as_batch_item_failures(name: str) -> None:
    event = events.kinesis_event(10, 100, poison_rate=0.2)
    poison = sorted(events.poison_indices(10, 0.2))

    response = contenders.make(name)(event, contenders.LambdaContext())

    assert response["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][index]["kinesis"]["sequenceNumber"]} for index in poison
    ]


def test_the_floor_rejects_what_shardsafe_rejects_and_accepts_trailing_whitespace() -> None:
    good = events.payload(100)
    datas = {
        "truncated": base64.b64encode(good[:-1]).decode(),
        "bad base64": base64.b64encode(good).decode()[:-4] + "!!!!",
        "invalid UTF-8": base64.b64encode(b'{"PRICE": "\xff"}').decode(),
        "an array": base64.b64encode(b"[1, 2]").decode(),
        "extra data": base64.b64encode(good + b"{}").decode(),
        "good, trailing newline": base64.b64encode(good + b"\n").decode(),
    }
    event = {"Records": [{"kinesis": {"data": data, "sequenceNumber": name}} for name, data in datas.items()]}

    accept_anything = floor_handler.make_handler(lambda value: None)  # the floor's checks, not business'
    response = accept_anything(event, contenders.LambdaContext())

    assert [failure["itemIdentifier"] for failure in response["batchItemFailures"]] == [
        "truncated",
        "bad base64",
        "invalid UTF-8",
        "an array",
        "extra data",
    ]


def test_an_unknown_contender_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown contender 'fastest'"):
        contenders.make("fastest")


@pytest.fixture(scope="module")
def cold() -> dict[str, Any]:
    return cold_start.measure(1)


def test_cold_start_times_every_contender_in_a_fresh_interpreter(cold: dict[str, Any]) -> None:
    assert set(cold["contenders"]) == set(cold_start.CONTENDERS)
    for name, result in cold["contenders"].items():
        assert result["import_ms"] > 0, name
        assert result["cold_ms"] >= result["import_ms"], name
    assert cold["contenders"]["aws_xray_sdk.core"]["first_batch_ms"] is None
    # Without a zip the handler is the template, and shardsafe comes from the task folder, not .venv.
    assert cold["handler"].startswith("templates/handler.py")
    assert Path(cold["shardsafe_loaded_from"]).parts[-3] == "task"


def test_the_first_poison_record_is_timed_as_boto3_the_client_and_the_rest(cold: dict[str, Any]) -> None:
    poison = cold["first_poison"]

    assert poison["import_boto3_ms"] > 0
    assert poison["client_ms"] > 0
    assert poison["rest_ms"] > 0  # the first send and the envelope code
    assert poison["ms"] == pytest.approx(poison["import_boto3_ms"] + poison["client_ms"] + poison["rest_ms"])
    assert poison["cold_batch_ms"] > poison["warm_batch_ms"] > 0
    # Only what Lambda's runtime provides is on the path: boto3 without awscrt.
    modules = {row["module"] for row in poison["heaviest_modules"]}
    assert modules
    assert not any(module.startswith(("awscrt", "_awscrt", "OpenSSL")) for module in modules)


def test_only_the_traced_cold_start_loads_xray(cold: dict[str, Any]) -> None:
    assert cold["contenders"]["shardsafe (tracing on)"]["xray_loaded"] is True
    assert cold["contenders"]["shardsafe (tracing off)"]["xray_loaded"] is False


def test_memory_reports_rss_and_heap_growth_against_the_payload() -> None:
    result = memory.measure(20, 1024)

    assert set(result["contenders"]) == CONTENDERS
    assert result["payload_bytes"] > 20 * 900
    for name, measured in result["contenders"].items():
        assert measured["rss_growth_bytes"] >= 0, name
        assert measured["heap_peak_bytes"] > 0, name


def test_the_report_has_a_chart_a_table_and_the_targets(tmp_path: Path, cold: dict[str, Any]) -> None:
    results = {
        "meta": {
            "date": "today",
            "commit": "abc1234",
            "python": "3.13",
            "powertools": "3",
            "cpus": 2,
            "load_average": "0.0",
        },
        "handler_cost": handler_cost.measure(
            (100,), (10, 20), (0.0, 0.1), repetitions=1, min_records=10, min_total_records=0
        ),
        "cold_start": cold,
        "memory": memory.measure(10, 100, names=("shardsafe",)),
        "e2e": {  # the end-to-end part needs LocalStack: tests/e2e/test_bench_e2e.py runs it
            "records": 30,
            "record_size": 1024,
            "batch_size": 100,
            "repetitions": 1,
            "paced": 10,
            "paced_rate": 50.0,
            "summary": [
                {
                    "contender": name,
                    "shards": 1,
                    "records_per_second": 100.0,
                    "p50_ms": 150.0,
                    "p99_ms": 300.0,
                    "burst_p50_ms": 200.0,
                    "burst_p99_ms": 400.0,
                }
                for name in ("floor", "shardsafe")
            ],
        },
    }
    results["targets"] = report.targets(results)

    report.chart(results["handler_cost"], tmp_path / "per_record.png")
    table = report.markdown(results)

    assert (tmp_path / "per_record.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [check["target"].split(":")[0] for check in results["targets"]] == [
        "per record, 0 % poison",
        "per record, 0 % poison",
        "per record",
        "cold start, tracing off",
        "memory, 10 x 100 B",
    ]
    assert "| 100 B | 20 | 10% |" in table
    assert "| shardsafe / floor |" in table
    assert "First poison record in a cold environment: " in table
    assert "shardsafe (tracing on)" in table
    assert "| 1 | shardsafe | 100 | 150 ms | 300 ms | 200 ms | 400 ms |" in table


def test_the_tables_are_replaced_between_the_markers_of_the_benchmarks_page(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\n{report.TABLES_BEGIN}\nold\n{report.TABLES_END}\n\nafter\n")

    report.update_docs(page, "new table\n")

    assert (
        page.read_text()
        == f"# Benchmarks\n\n{report.TABLES_BEGIN}\nnew table\n{report.TABLES_END}\n\nafter\n"
    )


def test_update_docs_writes_to_docs_benchmarks_md_by_default() -> None:
    from shardsafe_harness.paths import REPO

    page = REPO / report.DOCS_PAGE
    assert page == REPO / "docs" / "benchmarks.md"
    assert report.TABLES_BEGIN in page.read_text(), "the page --update-docs writes must carry the markers"
    assert report.TABLES_BEGIN not in (REPO / "README.md").read_text()


def test_the_steps_of_a_clean_record_add_up_to_about_the_whole() -> None:
    from bench import stages

    result = stages.measure(100, 50, repetitions=2)
    assert set(result["steps_ns"]) == set(stages.STEPS)
    assert result["floor_ns"] > 0 and result["whole_ns"] > 0
    total = sum(result["steps_ns"].values())
    # the steps are measured apart: their sum is the whole within a wide margin on a shared machine
    assert 0.3 * result["whole_ns"] < total < 3 * result["whole_ns"]
    assert "| decode |" in report.markdown({"meta": META, "stages": result})
