"""Async handlers to the deadline, and the tasks they start.

An ``async`` record or batch handler still running at the deadline is cancelled and its records handed
back (``out_of_time``). The tasks a handler starts belong to its record: awaited when it returns (one
that fails fails the record), cancelled when it raises or at the deadline, so none runs on into the
next record and no record ends in two places.

The invocations here have 600 ms left, so the deadline (no new work with a fifth of that left) comes
after 480 ms: a hanging handler costs each test about half a second.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import BatchIncompleteError, HandBack, MemoryQuarantine, Record, StreamProcessor, reasons
from shardsafe.core.telemetry import logs
from tests import factories

SHORT = 600  # ms left in the invocation
#: What "hangs" means here: long past the deadline, short enough that a broken deadline fails the test.
HANG_SECONDS = 20


def ticks(*names: str) -> dict[str, Any]:
    return factories.kinesis_event([factories.tick(name) for name in names])


def outcomes(result: Any) -> list[str]:
    return [
        cell.why if isinstance(cell, HandBack) else getattr(cell, "reason", "processed")
        for cell in result.outcomes
    ]


async def hang() -> None:
    await asyncio.sleep(HANG_SECONDS)


def test_an_async_handler_running_at_the_deadline_is_cancelled_and_its_records_handed_back(
    quarantine: MemoryQuarantine,
) -> None:
    cancelled: list[str] = []

    async def handle(record: Record) -> None:
        if record.data["TICKER"] == "HANG":
            try:
                await hang()
            except asyncio.CancelledError:
                cancelled.append("HANG")
                raise

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)
    result = processor.process(ticks("A", "HANG", "B"), factories.FakeContext(SHORT))
    assert outcomes(result) == ["processed", HandBack.OUT_OF_TIME, HandBack.OUT_OF_TIME]
    assert result.response == {
        "batchItemFailures": [{"itemIdentifier": str(factories.FIRST_SEQUENCE + i)} for i in (1, 2)]
    }
    assert cancelled == ["HANG"] and quarantine.envelopes == []


def test_a_hanging_async_handler_on_a_standard_queue_hands_back_every_record_left() -> None:
    async def handle(record: Record) -> None:
        if record.data["TICKER"] == "HANG":
            await hang()

    event = factories.sqs_event([factories.tick(name) for name in ("HANG", "A", "B")])
    result = StreamProcessor(handle, metrics=False).process(event, factories.FakeContext(SHORT))
    assert outcomes(result) == [HandBack.OUT_OF_TIME] * 3


def test_without_batch_item_failures_a_hanging_handler_makes_lambda_retry_the_batch() -> None:
    async def handle(record: Record) -> None:
        await hang()

    processor = StreamProcessor(handle, report_batch_item_failures=False, metrics=False)
    with pytest.raises(BatchIncompleteError):
        processor(ticks("A"), factories.FakeContext(SHORT))


@pytest.mark.parametrize("names", [("A",), ("A", "B", "C")], ids=["one-record", "three-records"])
def test_an_async_batch_handler_running_at_the_deadline_hands_back_its_records(
    quarantine: MemoryQuarantine, names: tuple[str, ...]
) -> None:
    async def write(records: list[Record]) -> None:
        await hang()

    processor = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False)
    result = processor.process(ticks(*names), factories.FakeContext(SHORT))
    assert outcomes(result) == [HandBack.OUT_OF_TIME] * len(names) and quarantine.envelopes == []


def test_a_task_started_by_a_handler_that_fails_is_cancelled_and_never_writes_its_record(
    quarantine: MemoryQuarantine,
) -> None:
    """The issue's case: the task would finish during the next record, and the record be both quarantined
    and written."""
    written: list[str] = []
    cancelled: list[str] = []

    async def write_later(name: str) -> None:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        written.append(name)

    async def handle(record: Record) -> None:
        name = record.data["TICKER"]
        asyncio.get_running_loop().create_task(write_later(name))
        if name == "BAD":
            raise ValueError("BAD is poison")
        await asyncio.sleep(0)

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)
    result = processor.process(ticks("BAD", "A"))
    processor.process(ticks("B"))  # the loop runs again: nothing of BAD's is left to run in it
    assert outcomes(result) == [reasons.HANDLER_ERROR, "processed"]
    assert written == ["A", "B"]
    assert cancelled == ["BAD"]  # cancelled when its handler failed, not dropped with its event loop


def test_the_tasks_a_handler_starts_are_done_before_the_next_record_starts() -> None:
    order: list[str] = []

    async def write(name: str) -> None:
        await asyncio.sleep(0.01)
        order.append(f"{name} written")

    async def handle(record: Record) -> None:
        name = record.data["TICKER"]
        order.append(f"{name} handled")
        asyncio.create_task(write(name))  # noqa: RUF006 - a fire-and-forget task, as handlers write them

    StreamProcessor(handle, metrics=False).process(ticks("A", "B"))
    assert order == ["A handled", "A written", "B handled", "B written"]


def test_a_task_that_fails_after_its_handler_returned_fails_the_record(quarantine: MemoryQuarantine) -> None:
    async def write(name: str) -> None:
        await asyncio.sleep(0)
        if name == "BAD":
            raise ValueError(f"cannot write {name}")

    async def handle(record: Record) -> None:
        asyncio.create_task(write(record.data["TICKER"]))  # noqa: RUF006

    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(ticks("A", "BAD", "B"))
    assert outcomes(result) == ["processed", reasons.HANDLER_ERROR, "processed"]
    assert [envelope.error_message for envelope in quarantine.envelopes] == ["cannot write BAD"]


def test_a_task_that_times_out_after_its_handler_returned_hands_the_record_back() -> None:
    async def write() -> None:
        raise TimeoutError("the table timed out")

    async def handle(record: Record) -> None:
        asyncio.create_task(write())  # noqa: RUF006

    result = StreamProcessor(handle, metrics=False).process(ticks("A", "B"))
    assert outcomes(result) == [HandBack.RETRYABLE, HandBack.AFTER_FAILURE]


def test_a_task_still_running_at_the_deadline_hands_its_record_back_and_never_runs_again(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    runs: list[str] = []

    async def stubborn(name: str) -> None:
        while True:  # ignores its cancellation
            try:
                await asyncio.sleep(0.05)
                runs.append(name)
            except asyncio.CancelledError:
                continue

    async def handle(record: Record) -> None:
        name = record.data["TICKER"]
        if name == "STUBBORN":
            asyncio.create_task(stubborn(name))  # noqa: RUF006
        else:
            await asyncio.sleep(0.2)  # long enough for the stubborn task to run, were it still scheduled

    processor = StreamProcessor(handle, metrics=False)
    result = processor.process(ticks("STUBBORN"), factories.FakeContext(SHORT))
    assert outcomes(result) == [HandBack.OUT_OF_TIME]
    [warning] = [line for line in log_lines() if line["event"] == logs.WARNED]
    assert "ignored their cancellation (test_a_task_still_running" in warning["message"]
    runs.clear()
    again = processor.process(ticks("B"), factories.FakeContext(SHORT))
    assert outcomes(again) == ["processed"]
    assert runs == []


def test_a_task_the_handler_cancels_itself_does_not_fail_the_record() -> None:
    async def handle(record: Record) -> None:
        task = asyncio.create_task(hang())
        await asyncio.sleep(0)
        task.cancel()

    result = StreamProcessor(handle, metrics=False).process(ticks("A"))
    assert outcomes(result) == ["processed"]


def test_sys_exit_in_an_async_handler_or_its_task_fails_only_its_record(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    """asyncio lets SystemExit out of its loop; shardsafe contains it, so the loop and the batch go on."""

    async def leave() -> None:
        sys.exit("a task left")

    async def handle(record: Record) -> None:
        name = record.data["TICKER"]
        if name == "EXIT":
            sys.exit("the handler left")
        if name == "TASK-EXIT":
            asyncio.create_task(leave())  # noqa: RUF006

    result = StreamProcessor(handle, metrics=False).process(ticks("EXIT", "A", "TASK-EXIT", "B"))
    assert outcomes(result) == [reasons.HANDLER_ERROR, "processed", reasons.HANDLER_ERROR, "processed"]
    assert [cell.error_message for cell in result.quarantined] == ["the handler left", "a task left"]
    assert [line for line in log_lines() if line["event"] == logs.WARNED] == []  # the loop was kept
