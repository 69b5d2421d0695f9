"""Tumbling windows: the window's state comes in with the event, the window handler makes the new one from
the batch's processed records, and the response carries it as `state` beside the batch-item failures."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from shardsafe import (
    KinesisRecord,
    MemoryQuarantine,
    RetryableError,
    StreamProcessor,
    TumblingWindow,
    reasons,
)
from tests import factories


def windowed(
    records: list[Any], state: dict[str, Any] | None = None, *, final: bool = False
) -> dict[str, Any]:
    """A Kinesis event as Lambda sends it with a tumbling window (services-kinesis-windows.html)."""
    event = factories.kinesis_event(records)
    event.update(
        window={"start": "2020-12-09T07:04:00Z", "end": "2020-12-09T07:06:00Z"},
        state=state if state is not None else {},
        shardId=factories.SHARD_ID,
        eventSourceARN=factories.STREAM_ARN,
        isFinalInvokeForWindow=final,
        isWindowTerminatedEarly=False,
    )
    return event


def count(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
    state = dict(window.state)
    for record in records:
        state[record.data["TICKER"]] = state.get(record.data["TICKER"], 0) + 1
    return state


def processor(**options: Any) -> tuple[StreamProcessor[Any], MemoryQuarantine]:
    quarantine = MemoryQuarantine()
    options.setdefault("window_handler", count)
    return StreamProcessor(quarantine=quarantine, metrics=False, **options), quarantine


def test_the_state_is_carried_from_one_invocation_to_the_next() -> None:
    ticks, _ = processor()
    first = ticks(windowed([factories.tick("A"), factories.tick("B"), factories.tick("A")]))
    assert first == {"batchItemFailures": [], "state": {"A": 2, "B": 1}}
    second = ticks(windowed([factories.tick("B")], first["state"]))
    assert second == {"batchItemFailures": [], "state": {"A": 2, "B": 2}}


def test_the_handler_sees_the_window_and_emits_on_the_final_invocation_even_without_records() -> None:
    seen: list[tuple[str | None, bool, dict[str, Any], int]] = []
    emitted: list[dict[str, Any]] = []

    def aggregate(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        seen.append((window.start, window.is_final, window.state, len(records)))
        state = count(window, records)
        if window.is_final:
            emitted.append(state)
            return {}
        return state

    ticks, _ = processor(window_handler=aggregate)
    assert ticks(windowed([], {"A": 5}, final=True)) == {"batchItemFailures": [], "state": {}}
    assert seen == [("2020-12-09T07:04:00Z", True, {"A": 5}, 0)]
    assert emitted == [{"A": 5}]


def test_poison_is_quarantined_before_it_counts() -> None:
    ticks, quarantine = processor(validate={"TICKER": str})
    response = ticks(windowed([factories.tick("A"), b"not json", {"TICKER": 7}, factories.tick("A")]))
    assert response == {"batchItemFailures": [], "state": {"A": 2}}
    assert [e.reason for e in quarantine.envelopes] == [reasons.INVALID_JSON, reasons.VALIDATION_ERROR]


def test_a_record_the_window_handler_fails_on_is_found_by_bisection_and_quarantined() -> None:
    def picky(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("cannot aggregate BAD")
        return count(window, records)

    ticks, quarantine = processor(window_handler=picky)
    event = windowed([factories.tick(t) for t in ("A", "B", "BAD", "A")], {"A": 1})
    assert ticks(event) == {"batchItemFailures": [], "state": {"A": 3, "B": 1}}
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.record["sequenceNumber"]) == (
        reasons.HANDLER_ERROR,
        event["Records"][2]["kinesis"]["sequenceNumber"],
    )


def test_a_retryable_failure_hands_the_records_back_and_keeps_the_state_from_before_them() -> None:
    def flaky(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        raise RetryableError("the state store is throttled")

    ticks, quarantine = processor(window_handler=flaky, record_handler=lambda r: None)
    event = windowed([factories.tick("A"), factories.tick("B")], {"A": 1})
    sequences = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert ticks(event) == {
        "batchItemFailures": [{"itemIdentifier": sequence} for sequence in sequences],
        "state": {"A": 1},
    }
    assert not quarantine.envelopes


def test_without_records_a_retryable_failure_leaves_out_the_state_so_lambda_invokes_again() -> None:
    def flaky(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        raise TimeoutError("the destination timed out")

    ticks, _ = processor(window_handler=flaky)
    assert ticks(windowed([], {"A": 1}, final=True)) == {"batchItemFailures": []}


def test_without_records_a_poison_failure_logs_the_state_and_the_window_goes_on(
    log_lines: Any,
) -> None:
    def broken(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        raise KeyError("bug")

    ticks, _ = processor(window_handler=broken)
    log_lines()
    assert ticks(windowed([], {"A": 7}, final=True)) == {"batchItemFailures": [], "state": {"A": 7}}
    [failed] = [line for line in log_lines() if line["event"] == "shardsafe.window_failed"]
    assert json.loads(failed["state"]) == {"A": 7}
    assert (failed["error_type"], failed["final"], failed["window_start"]) == (
        "KeyError",
        True,
        "2020-12-09T07:04:00Z",
    )


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (None, "returned NoneType, not the new state"),
        ({"A": Decimal(1)}, "the window's state must be JSON"),
        ({"A": {1, 2}}, "the window's state must be JSON"),
    ],
)
def test_a_state_lambda_cannot_keep_fails_the_records_loudly(returned: Any, message: str) -> None:
    ticks, quarantine = processor(window_handler=lambda window, records: returned)
    assert ticks(windowed([factories.tick("A")], {"A": 1})) == {"batchItemFailures": [], "state": {"A": 1}}
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.HANDLER_ERROR and message in envelope.error_message


def test_each_call_gets_its_own_copy_of_the_state() -> None:
    def meddling(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        window.state["touched"] = 1
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("BAD")
        return count(window, records)

    ticks, _ = processor(window_handler=meddling)
    incoming = {"A": 1}
    response = ticks(windowed([factories.tick("A"), factories.tick("BAD")], incoming))
    assert response["state"] == {
        "A": 2,
        "touched": 1,
    }  # the half that succeeded; the failed calls left nothing
    assert incoming == {"A": 1}


def test_the_batch_handler_runs_with_the_window_handler_on_the_same_records() -> None:
    written: list[list[str]] = []
    ticks, _ = processor(batch_handler=lambda records: written.append([r.data["TICKER"] for r in records]))
    assert ticks(windowed([factories.tick("A"), factories.tick("B")])) == {
        "batchItemFailures": [],
        "state": {"A": 1, "B": 1},
    }
    assert written == [["A", "B"]]


def test_a_window_without_a_window_handler_passes_the_state_back_and_warns_once(log_lines: Any) -> None:
    seen: list[str] = []
    plain = StreamProcessor(
        lambda r: seen.append(r.data["TICKER"]), quarantine=MemoryQuarantine(), metrics=False
    )
    log_lines()
    assert plain(windowed([factories.tick("A")], {"kept": 1})) == {
        "batchItemFailures": [],
        "state": {"kept": 1},
    }
    assert plain(windowed([factories.tick("B")], {"kept": 1}))["state"] == {"kept": 1}
    assert seen == ["A", "B"]
    warnings = [line for line in log_lines() if "tumbling window" in line.get("message", "")]
    assert len(warnings) == 1


def test_an_event_without_a_window_has_no_state_in_its_response() -> None:
    ticks, _ = processor()
    assert ticks(factories.kinesis_event(count=2)) == {"batchItemFailures": []}


def test_an_async_window_handler_is_awaited() -> None:
    async def aggregate(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        return count(window, records)

    ticks, _ = processor(window_handler=aggregate)
    assert ticks(windowed([factories.tick("A")]))["state"] == {"A": 1}
