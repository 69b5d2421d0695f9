"""The headline's accounting on synthetic invocations and destinations, and its tables: no LocalStack, no timing.

The headline itself runs on LocalStack in tests/e2e/test_bench_e2e.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from shardsafe_harness import paths
from shardsafe_harness.accounting import Observed
from shardsafe_harness.paths import REPO

from bench import e2e_localstack, headline, outcomes, report
from bench.e2e_localstack import Put
from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.ops.failures import FailedBatch
from tests.unit.ops.fakes import make_on_failure_body

SHARD = "shardId-000000000000"


def puts(count: int) -> dict[str, Put]:
    """Records 100, 101, ... put one a second from t=0, keys load-0, load-1, ..."""
    return {str(100 + n): Put(float(n), f"load-{n}", SHARD) for n in range(count)}


def invocation(
    finished: float, *sequence_numbers: int, failed: tuple[int, ...] = (), raised: str | None = None
) -> outcomes.Invocation:
    """An invocation that took 0.25 s."""
    return outcomes.Invocation.from_line(
        {
            "started": finished - 0.25,
            "finished": finished,
            "sequenceNumbers": [str(s) for s in sequence_numbers],
            "failed": [str(s) for s in failed],
            "raised": raised,
        }
    )


def quarantine(observed: Observed, sequence_number: int, payload: bytes) -> None:
    envelope = build_envelope(
        reason="handler_error",
        payload=payload,
        record={"eventSource": "aws:kinesis", "shardId": SHARD, "sequenceNumber": str(sequence_number)},
    )
    observed.quarantined.setdefault((SHARD, sequence_number), []).append(envelope)


def on_failure(observed: Observed, start: int, end: int) -> None:
    body = make_on_failure_body(shard_id=SHARD, start=str(start), end=str(end), batch_size=end - start + 1)
    observed.failure_batches.append(FailedBatch.from_message(body, f"m-{start}"))


def test_a_quarantined_poison_costs_one_invocation_and_no_good_record() -> None:
    put_at = puts(6)  # 102 is the poison; 100 and 101 are done before it is put
    observed = Observed()
    quarantine(observed, 102, b"poison")
    invocations = [
        invocation(0.5, 100),
        invocation(1.6, 101),
        invocation(4.0, 102, 103),
        invocation(5.5, 104, 105),
    ]

    placed = outcomes.place_records(put_at, invocations, observed)
    run = outcomes.summarise_run(put_at, placed, invocations, poison="102", after="103")

    assert {s: o.place for s, o in placed.items()} == {
        "100": "processed",
        "101": "processed",
        "102": "quarantined",
        "103": "processed",
        "104": "processed",
        "105": "processed",
    }
    assert outcomes.settled(placed, "102")
    assert run["normal_ms"] == pytest.approx(550.0)  # 0.5 s and 0.6 s: the records done before t=2
    assert run["after_poison_ms"] == pytest.approx(1000.0)
    assert run["stall_ms"] == pytest.approx(450.0)
    assert (run["poison_invocations"], run["extra_deliveries"], run["good_on_failure"]) == (1, 0, 0)
    assert run["poison_invocations_ms"] == pytest.approx(250.0)
    assert outcomes.poison_bytes_kept("quarantined", (SHARD, 102), b"poison", observed)
    assert not outcomes.poison_bytes_kept("quarantined", (SHARD, 102), b"other bytes", observed)


def test_a_reported_poison_takes_the_good_records_after_it_in_its_batch_to_the_on_failure_destination() -> (
    None
):
    put_at = puts(5)  # 101 is the poison; 102 and 103 follow it in its batch
    observed = Observed()
    on_failure(observed, 101, 103)
    invocations = [
        invocation(0.5, 100),
        invocation(1.5, 101, 102, 103, failed=(101,)),  # the handler ran 102 and 103: still retried
        invocation(2.5, 101, 102, 103, failed=(101,)),
        invocation(4.5, 101, 102, 103, failed=(101,)),
        invocation(5.0, 104),
    ]

    placed = outcomes.place_records(put_at, invocations, observed)
    run = outcomes.summarise_run(put_at, placed, invocations, poison="101", after="102")

    assert [placed[s].place for s in sorted(placed)] == [
        "processed",
        "on-failure",
        "on-failure",
        "on-failure",
        "processed",
    ]
    assert run["good_on_failure_keys"] == ["load-2", "load-3"]
    assert (run["poison_invocations"], run["invocations"], run["extra_deliveries"]) == (3, 5, 6)
    assert run["after_poison_ms"] == pytest.approx(2500.0)  # put at 2, done when its last invocation ended


def test_a_handled_but_unreported_poison_is_not_settled_and_a_record_never_held_is_missing() -> None:
    put_at = puts(3)
    invocations = [invocation(1.0, 100, 101)]  # 101, the poison, handled (swallowed); 102 never delivered

    placed = outcomes.place_records(put_at, invocations, Observed())
    run = outcomes.summarise_run(put_at, placed, invocations, poison="101", after="102")

    assert placed["101"].place == "processed"
    assert placed["102"] == outcomes.Outcome("missing", None, 0)
    assert not outcomes.settled(placed, "101")
    assert run["good_missing"] == 1
    assert run["after_poison_ms"] is None and run["stall_ms"] is None


def test_an_invocation_that_raised_handled_none_of_its_records() -> None:
    raised = invocation(1.0, 100, 101, raised="ValueError")

    assert not raised.handled("100")
    assert invocation(1.0, 100, 101, failed=(101,)).handled("100")
    assert not invocation(1.0, 100, 101, failed=(101,)).handled("101")


def test_the_poison_is_the_middle_record_of_the_middle_put_call_and_raises_where_the_ticks_do_not() -> None:
    payloads, poison = headline.load(records=200, rate=100, record_size=256)

    assert e2e_localstack.records_per_call(100) == 10 and poison == 105
    ticks = [json.loads(payload) for payload in payloads]
    with pytest.raises(ValueError, match="could not convert"):
        float(ticks[poison]["PRICE"])
    assert all(isinstance(float(tick["PRICE"]), float) for n, tick in enumerate(ticks) if n != poison)


def test_the_headline_mapping_has_the_modules_defaults() -> None:
    """MODULE_DEFAULTS is what variables.tf says: a change of default there must show here."""
    variables = (REPO / "variables.tf").read_text()
    mapping_block = variables.split('variable "event_source_mapping"', 1)[1].split("\nvariable ", 1)[0]
    declared: dict[str, Any] = {
        name: json.loads(value)
        for name, value in re.findall(r"^\s+(\w+)\s+= optional\(\w+, (\S+)\)$", mapping_block, re.MULTILINE)
    }
    # The stream defaults of arguments a queue does not take live in the module's locals (null for a
    # queue), in whichever of its files holds them (mapping.tf today).
    main_tf = "\n".join(path.read_text() for path in paths.MODULE_FILES)
    for name, value in re.findall(
        r"^\s+(\w+)\s+= coalesce\(local\.mapping\.\w+, ([^)]+)\)$", main_tf, re.MULTILINE
    ):
        stream_value = value.split("?", 1)[1].split(":", 1)[0].strip() if "?" in value else value
        declared[name] = json.loads(stream_value)
    for name in ("memory_size", "timeout"):
        block = variables.split(f'variable "{name}"', 1)[1].split("\nvariable ", 1)[0]
        declared[name] = int(re.search(r"default\s+= (\d+)", block).group(1))  # type: ignore[union-attr]

    assert {name: declared[name] for name in headline.MODULE_DEFAULTS} == dict(headline.MODULE_DEFAULTS)
    settings = headline.mapping_settings("arn:aws:s3:::failures", bisect=True)
    assert settings["Tags"] == {"shardsafe-localstack:bisect": "on"}
    assert (settings["MaximumRetryAttempts"], settings["BisectBatchOnFunctionError"]) == (3, True)


def test_the_bisect_tag_is_the_one_the_embedded_localstack_reads() -> None:
    from shardsafe_localstack.bisect_on_error import BISECT_TAG

    assert headline.BISECT_TAG == BISECT_TAG


def test_an_unknown_headline_contender_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="unknown headline contender 'fastest'"):
        headline.measure("http://127.0.0.1:1", contenders=("shardsafe", "fastest"))


def headline_result() -> dict[str, Any]:
    row = {
        "runs": 3,
        "good": 599,
        "normal_ms": 120.0,
        "after_poison_ms": 180.0,
        "stall_ms": 60.0,
        "worst_ms": 300.0,
        "poison_invocations": 1,
        "poison_invocations_ms": 55.0,
        "invocations": 40,
        "extra_deliveries": 0,
        "good_on_failure": 0,
        "good_quarantined": 0,
        "good_missing": 0,
        "poison_places": ["quarantined"],
        "poison_bytes_kept": True,
        "settled": True,
    }
    theirs = dict(
        row,
        contender="powertools",
        stall_ms=2400.0,
        poison_invocations=4,
        extra_deliveries=15,
        good_on_failure=4,
        poison_places=["on-failure"],
    )
    return {
        "records": 600,
        "rate": 100.0,
        "record_size": 1024,
        "repetitions": 3,
        "bisect": True,
        "settings": dict(headline.MODULE_DEFAULTS),
        "summary": [dict(row, contender="shardsafe"), theirs],
    }


def test_the_headline_table_puts_the_contenders_side_by_side() -> None:
    table = report.headline_table(headline_result())

    assert "| | shardsafe | Powertools BatchProcessor |" in table
    assert "| shard stall: the record after the poison, beyond normal | +60 ms | +2,400 ms |" in table
    assert "| invocations that held the poison | 1 | 4 |" in table
    assert "| good records given up on: in the on-failure destination | 0 of 599 | 4 of 599 |" in table
    assert "| the poison record ends | quarantined, its bytes kept | on-failure, its bytes kept |" in table
    assert "did not settle" not in table
    meta = {"date": "today", "commit": "abc1234", "python": "3.13", "powertools": "3", "cpus": 2}
    readme = report.readme_headline({"headline": headline_result(), "meta": dict(meta, load_average="0.0")})
    assert readme.startswith(table) and "at commit `abc1234`" in readme


def speed_result(one_shard_per_s: float, intake_per_s: float, drain_per_s: float | None) -> dict[str, Any]:
    return {
        "records": 3000,
        "latency": {
            "count": 100,
            "invoke": {"p50_ms": 31.0, "p90_ms": 40.0, "p99_ms": 60.0},
            "get_function": {"p50_ms": 9.0, "p90_ms": 11.0, "p99_ms": 15.0},
        },
        "rows": [
            {
                "shards": 1,
                "batch_size": 100,
                "records_per_s": one_shard_per_s,
                "intake_per_s": intake_per_s,
                "drain_per_s": drain_per_s,
                "intake_while_read_per_s": intake_per_s * 0.8,
                "tail_s": 1.5,
            },
            {
                "shards": 4,
                "batch_size": 1000,
                "records_per_s": 700.0,
                "intake_per_s": 710.0,
                "drain_per_s": None,
                "intake_while_read_per_s": 600.0,
                "tail_s": 0.5,
            },
        ],
    }


def test_a_missed_throughput_target_names_the_slow_side() -> None:
    from bench import stack_speed

    speed = speed_result(480.0, 520.0, 2100.0)
    checks = stack_speed.targets(speed)
    table = report.speed_tables(speed)

    assert [check["met"] for check in checks] == [False, False]  # 31 ms > 25 ms; 480/s < 1,000/s
    assert checks[1]["measured"] == (
        "480 records/s; held back by the stream's intake (416/s while the mapping read, 520/s alone); "
        "the last record was processed 1.50 s after the last put"
    )
    assert "| warm Invoke | 31.0 ms | 60.0 ms | p50 <= 25 ms | **missed** |" in table
    assert "| 1 | 100 | 480/s | 520/s | 2,100/s | >= 1,000/s | **missed**: held back by the stream" in table
    assert "| 4 | 1,000 | 700/s | 710/s | — |  |  |" in table
    assert stack_speed.targets(speed_result(1200.0, 1500.0, 2100.0))[1]["met"]
    slow_mapping = stack_speed.targets(speed_result(900.0, 1500.0, 950.0))[1]["measured"]
    assert "held back by the mapping (950/s on a prefilled shard)" in slow_mapping


def test_the_readme_carries_the_headline_markers_and_update_docs_fills_them(tmp_path: Any) -> None:
    readme = (REPO / report.README).read_text()
    assert report.HEADLINE_BEGIN in readme and report.HEADLINE_END in readme
    page = tmp_path / "README.md"
    page.write_text(f"x\n{report.HEADLINE_BEGIN}\nold\n{report.HEADLINE_END}\ny\n")

    report.update_docs(page, "new\n", report.HEADLINE_BEGIN, report.HEADLINE_END)

    assert page.read_text() == f"x\n{report.HEADLINE_BEGIN}\nnew\n{report.HEADLINE_END}\ny\n"


def test_a_throughput_row_takes_the_intake_from_the_prefilled_run_and_the_tail_from_the_live_one() -> None:
    from bench import stack_speed

    def run(prefill: bool, put_s: float, elapsed_s: float, processed_per_s: float | None) -> dict[str, Any]:
        return {
            "records": 3000,
            "shards": 1,
            "batch_size": 100,
            "prefill": prefill,
            "put_s": put_s,
            "elapsed_s": elapsed_s,
            "records_per_s": 3000 / elapsed_s,
            "processed_per_s": processed_per_s,
        }

    other_batch = dict(run(False, 1.0, 1.0, None), batch_size=1000)
    entry = stack_speed.row([other_batch, run(True, 6.0, 2.5, 1250.0), run(False, 5.0, 7.5, 600.0)], 1, 100)

    assert entry == {
        "shards": 1,
        "batch_size": 100,
        "records_per_s": 400.0,
        "intake_per_s": 500.0,  # 3,000 records put in 6 s with nothing reading
        "drain_per_s": 1250.0,
        "intake_while_read_per_s": 600.0,
        "tail_s": 2.5,
    }


def test_a_poison_given_up_on_is_counted_only_once_every_invocation_lambda_counted_is_logged() -> None:
    """Lambda's on-failure record counts 3 invocations (approximateInvokeCount): with the third one's log
    line not read yet, counting the poison's invocations would come out one short."""
    put_at = puts(3)
    observed = Observed()
    on_failure(observed, 101, 101)
    logged = [invocation(1.5, 100), invocation(2.0, 101, raised="Boom"), invocation(3.0, 101, raised="Boom")]

    before = outcomes.place_records(put_at, logged, observed)
    after = outcomes.place_records(put_at, [*logged, invocation(4.0, 101, raised="Boom")], observed)

    assert before["101"].place == "on-failure" and before["101"].invocations == 2
    assert not outcomes.invocations_logged(before["101"], (SHARD, 101), observed)
    assert outcomes.invocations_logged(after["101"], (SHARD, 101), observed)
    assert outcomes.invocations_logged(before["100"], (SHARD, 100), observed), (
        "no on-failure batch: nothing to wait for"
    )
