"""Tumbling windows on LocalStack's own Kinesis poller and Lambda sender, with shardsafe's processor as the
function: no LocalStack running.

The poller, its event processor and the LambdaSender are LocalStack's code, patched by
shardsafe_localstack.tumbling_window; the Lambda client the sender invokes runs a real StreamProcessor
with a window handler in process, and the clock is a fake. What AWS documents
(https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html) is checked on the events the
function got: the window and its state in, the state out, the final invocation at the window's end.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from localstack.services.lambda_.event_source_mapping.esm_event_processor import EsmEventProcessor
from localstack.services.lambda_.event_source_mapping.pipe_loggers.noops_pipe_logger import NoOpsPipeLogger
from localstack.services.lambda_.event_source_mapping.pollers.kinesis_poller import KinesisPoller
from localstack.services.lambda_.event_source_mapping.senders.lambda_sender import LambdaSender
from shardsafe_localstack import tumbling_window
from shardsafe_localstack.tumbling_window import TUMBLING_WINDOW_ENV, WINDOW_PARAMETER

from shardsafe import KinesisRecord, MemoryQuarantine, StreamProcessor, TumblingWindow

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ticks"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:counter"
SHARD = "shardId-000000000000"
WINDOW_START = 1_800_000_000.0  # a multiple of 60 and of 30
MAX_INVOCATIONS = 200


def count(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, Any]:
    counts = dict(window.state.get("counts", {}))
    for record in records:
        counts[record.data["k"]] = counts.get(record.data["k"], 0) + 1
    return {"counts": counts, "batches": window.state.get("batches", 0) + 1}


@dataclass
class LambdaClient:
    """The Lambda API the sender calls: runs a shardsafe processor on the payload, keeps each event."""

    processor: StreamProcessor[Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    drop_state: bool = False

    def invoke(self, FunctionName: str, Payload: str, InvocationType: str, **_: Any) -> dict[str, Any]:
        event = json.loads(Payload)
        self.events.append(event)
        response: Any = self.processor(event, None)
        if self.drop_state:
            response = {"batchItemFailures": response["batchItemFailures"]}
        self.responses.append(response)
        return {
            "Payload": io.BytesIO(json.dumps(response).encode()),
            "StatusCode": 200,
            "ResponseMetadata": {"RequestId": f"req-{len(self.events)}"},
        }


class NoWait:
    def __init__(self, client: LambdaClient) -> None:
        self.client = client

    def is_set(self) -> bool:
        return len(self.client.events) >= MAX_INVOCATIONS

    def wait(self, seconds: float) -> bool:
        return False


@pytest.fixture(scope="module", autouse=True)
def patched() -> None:
    # Left in place, as bisect_on_error's are: a mapping without a window goes through them untouched.
    tumbling_window.apply()


@pytest.fixture(autouse=True)
def switch_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TUMBLING_WINDOW_ENV, raising=False)


def poller(
    client: LambdaClient, seconds: int = 60, *, records_source: list[list[dict[str, Any]]] | None = None
) -> KinesisPoller:
    parameters = {
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRetryAttempts": 2,
        "MaximumRecordAgeInSeconds": -1,
        WINDOW_PARAMETER: seconds,
    }
    sender = LambdaSender(
        FUNCTION_ARN, {}, target_client=client, payload_dict=True, report_batch_item_failures=True
    )  # type: ignore[arg-type]
    made = KinesisPoller(
        source_arn=STREAM_ARN,
        source_parameters={"KinesisStreamParameters": parameters},
        source_client=Stream(records_source or []),  # type: ignore[arg-type]
        processor=EsmEventProcessor(sender=sender, logger=NoOpsPipeLogger()),
        esm_uuid="esm-uuid",
        kinesis_namespace=True,
    )
    made._is_shutdown = NoWait(client)  # type: ignore[assignment]
    return made


@dataclass
class Stream:
    """The Kinesis client the poller reads: pages of records, then empty pages."""

    pages: list[list[dict[str, Any]]]

    def get_records(self, **_: Any) -> dict[str, Any]:
        return {"Records": self.pages.pop(0) if self.pages else [], "NextShardIterator": "next"}


def records(keys: str, *, first: int = 1, arrived: float = WINDOW_START) -> list[dict[str, Any]]:
    return [
        {
            "SequenceNumber": f"{n:056d}",
            "PartitionKey": key,
            "Data": json.dumps({"k": key}).encode(),
            "ApproximateArrivalTimestamp": datetime.fromtimestamp(arrived + index, tz=UTC),
        }
        for index, (n, key) in enumerate(zip(range(first, first + len(keys)), keys, strict=True))
    ]


def client(**options: Any) -> LambdaClient:
    options.setdefault("window_handler", count)
    return LambdaClient(StreamProcessor(quarantine=MemoryQuarantine(), metrics=False, **options))


def test_the_state_a_response_carries_is_the_next_invocations_and_the_window_ends_with_a_final_one() -> None:
    function = client()
    ticks = poller(function)
    ticks.forward_events_to_target(SHARD, records("ab"))
    ticks.forward_events_to_target(SHARD, records("a", first=3, arrived=WINDOW_START + 10))
    ticks.forward_events_to_target(SHARD, records("b", first=4, arrived=WINDOW_START + 61))  # the next window

    first, second, final, next_window = function.events
    assert first["window"] == {"start": "2027-01-15T08:00:00Z", "end": "2027-01-15T08:01:00Z"}
    assert (first["state"], first["shardId"], first["eventSourceARN"]) == ({}, SHARD, STREAM_ARN)
    assert first["isFinalInvokeForWindow"] is False and first["isWindowTerminatedEarly"] is False
    assert len(first["Records"]) == 2
    assert second["state"] == function.responses[0]["state"] == {"counts": {"a": 1, "b": 1}, "batches": 1}
    assert final["isFinalInvokeForWindow"] is True and final["Records"] == []
    assert final["state"] == {"counts": {"a": 2, "b": 1}, "batches": 2}
    assert final["window"] == first["window"]
    assert next_window["window"]["start"] == "2027-01-15T08:01:00Z"
    assert next_window["state"] == {}, "the next window starts from a fresh state"


def test_a_batch_across_two_windows_is_cut_where_the_window_changes() -> None:
    function = client()
    batch = records("ab", arrived=WINDOW_START + 28) + records("cd", first=3, arrived=WINDOW_START + 30)
    poller(function, seconds=30).forward_events_to_target(SHARD, batch)
    events = function.events
    assert [(e["window"]["start"], e["isFinalInvokeForWindow"], len(e["Records"])) for e in events] == [
        ("2027-01-15T08:00:00Z", False, 2),
        ("2027-01-15T08:00:00Z", True, 0),
        ("2027-01-15T08:00:30Z", False, 2),
    ]
    seen = [r["kinesis"]["sequenceNumber"] for e in events for r in e["Records"]]
    assert seen == [r["SequenceNumber"] for r in batch], "every record once, in order"


def test_a_poll_that_finds_nothing_after_the_windows_end_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    function = client()
    ticks = poller(function, records_source=[records("aa")])
    monkeypatch.setattr(tumbling_window.time, "time", lambda: WINDOW_START + 30)
    ticks.poll_events_from_shard(SHARD, "iterator")  # the records
    ticks.poll_events_from_shard(SHARD, "iterator")  # nothing, and the window is still open
    assert [e["isFinalInvokeForWindow"] for e in function.events] == [False]
    monkeypatch.setattr(tumbling_window.time, "time", lambda: WINDOW_START + 60 + tumbling_window.GRACE_S)
    ticks.poll_events_from_shard(SHARD, "iterator")
    assert [e["isFinalInvokeForWindow"] for e in function.events] == [False, True]
    assert function.events[-1]["state"] == {"counts": {"a": 2}, "batches": 1}
    ticks.poll_events_from_shard(SHARD, "iterator")
    assert len(function.events) == 2, "a closed window is not closed again"


def test_a_response_without_state_is_a_failed_invocation_and_is_retried() -> None:
    function = client()
    function.drop_state = True
    poller(function).forward_events_to_target(SHARD, records("a"))
    assert len(function.events) == 3, "the first try and the mapping's 2 retries"
    assert all(event["state"] == {} for event in function.events)


def test_a_retried_final_invocation_gets_the_same_state_until_it_succeeds() -> None:
    calls: list[bool] = []

    def emit_fails_once(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, Any]:
        if window.is_final:
            calls.append(True)
            if len(calls) == 1:
                raise TimeoutError("the destination timed out")  # retryable: no state in the response
            return {}
        return count(window, records)

    function = client(window_handler=emit_fails_once)
    ticks = poller(function)
    ticks.forward_events_to_target(SHARD, records("ab"))
    ticks.forward_events_to_target(SHARD, records("c", first=3, arrived=WINDOW_START + 60))
    finals = [e for e in function.events if e["isFinalInvokeForWindow"]]
    assert len(finals) == 2 and finals[0]["state"] == finals[1]["state"] == {
        "counts": {"a": 1, "b": 1},
        "batches": 1,
    }
    assert function.events[-1]["state"] == {} and function.events[-1]["Records"]


def test_switched_off_the_function_gets_records_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TUMBLING_WINDOW_ENV, "0")
    function = client()
    poller(function).forward_events_to_target(SHARD, records("ab"))
    [event] = function.events
    assert set(event) == {"Records"}


def test_a_mapping_without_a_window_is_left_alone() -> None:
    function = client()
    poller(function, seconds=0).forward_events_to_target(SHARD, records("ab"))
    [event] = function.events
    assert set(event) == {"Records"}


def test_the_worker_factory_hands_the_mapping_window_to_the_poller() -> None:
    function = client()
    made = poller(function, seconds=0)

    worker = SimpleNamespace(poller=made)
    factory = SimpleNamespace(esm_config={WINDOW_PARAMETER: 45})
    assert tumbling_window.get_esm_worker(lambda factory: worker, factory).poller is made
    assert made.stream_parameters[WINDOW_PARAMETER] == 45


def test_records_are_base64_as_lambda_sends_them() -> None:
    function = client()
    poller(function).forward_events_to_target(SHARD, records("a"))
    data = function.events[0]["Records"][0]["kinesis"]["data"]
    assert json.loads(base64.b64decode(data)) == {"k": "a"}
