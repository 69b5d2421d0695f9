"""The failures a real pipeline meets, each through the whole processor.

Async handlers, downstream outages, the deadline on every path, ``sys.exit()`` in user code,
SQS standard and FIFO queues, compression bombs, JSON that RFC 8259 forbids, and a poison record
too big for one log line when no quarantine store is left.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import http.client
import json
import socket
import ssl
import urllib.error
import warnings
import zlib
from collections.abc import Callable, Sequence
from typing import Any
from unittest.mock import MagicMock

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, IncompleteReadError

from shardsafe import HandBack, MemoryQuarantine, Record, StreamProcessor, reasons
from shardsafe.core.quarantine.envelope import Envelope
from shardsafe.core.telemetry import logs
from tests import factories


def sequence(index: int) -> str:
    return str(factories.FIRST_SEQUENCE + index)


def ticks(*tickers: str) -> dict[str, Any]:
    return factories.kinesis_event([factories.tick(ticker) for ticker in tickers])


# --- async handlers ---


def test_an_async_record_handler_is_awaited_in_order(quarantine: MemoryQuarantine) -> None:
    done: list[str] = []

    async def handle(record: Record) -> str:
        await asyncio.sleep(0)
        done.append(record.data["TICKER"])
        return record.data["TICKER"].lower()

    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(ticks("A", "B", "C"))
    assert done == ["A", "B", "C"]
    assert [record.result for record in result.processed] == ["a", "b", "c"]


def test_an_async_handler_that_raises_quarantines_its_record(quarantine: MemoryQuarantine) -> None:
    async def handle(record: Record) -> None:
        if record.data["TICKER"] == "B":
            raise ValueError("bad tick")

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)
    assert processor(ticks("A", "B", "C")) == {"batchItemFailures": []}
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.error_message) == (reasons.HANDLER_ERROR, "bad tick")


def test_an_async_method_and_an_async_callable_object_are_awaited(quarantine: MemoryQuarantine) -> None:
    class Sink:
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def save(self, record: Record) -> None:
            self.seen.append(record.data["TICKER"])

        async def __call__(self, record: Record) -> None:
            self.seen.append(record.data["TICKER"])

    for handler_of in (lambda sink: sink.save, lambda sink: sink):
        sink = Sink()
        StreamProcessor(handler_of(sink), quarantine=quarantine, metrics=False)(ticks("A", "B"))
        assert sink.seen == ["A", "B"]


def test_an_async_batch_handler_is_awaited(quarantine: MemoryQuarantine) -> None:
    written: list[list[str]] = []

    async def write(records: list[Record]) -> None:
        await asyncio.sleep(0)
        written.append([record.data["TICKER"] for record in records])

    StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False)(ticks("A", "B"))
    assert written == [["A", "B"]]


def test_a_plain_handler_returning_a_coroutine_has_it_awaited(quarantine: MemoryQuarantine) -> None:
    """``lambda r: save(r)`` with ``async def save``: the coroutine runs, and its result is the record's."""
    ran: list[str] = []

    async def save(record: Record) -> str:
        await asyncio.sleep(0)
        ran.append(record.data["TICKER"])
        return record.data["TICKER"].lower()

    plain = lambda record: save(record)  # noqa: E731, PLW0108 - a plain function returning a coroutine
    processor = StreamProcessor(plain, quarantine=quarantine, metrics=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a coroutine left unawaited would warn
        result = processor.process(ticks("A", "B"))
    assert ran == ["A", "B"]
    assert [record.result for record in result.processed] == ["a", "b"]
    assert quarantine.envelopes == []


def test_a_coroutine_returned_by_a_plain_handler_that_fails_fails_its_record(
    quarantine: MemoryQuarantine,
) -> None:
    async def save(record: Record) -> None:
        raise ValueError(f"cannot save {record.data['TICKER']}")

    processor = StreamProcessor(lambda record: save(record), quarantine=quarantine, metrics=False)  # noqa: PLW0108
    result = processor.process(ticks("A"))
    assert result.processed == []
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.error_message) == (reasons.HANDLER_ERROR, "cannot save A")


@pytest.mark.parametrize(
    "returned",
    [
        pytest.param(lambda record: (part for part in record.data), id="a-generator"),
        pytest.param(lambda record: MagicMock(), id="a-magicmock"),
        pytest.param(lambda record: iter(record.data), id="an-iterator"),
    ],
)
def test_a_handler_that_ran_and_returned_an_odd_value_has_its_record_processed(
    quarantine: MemoryQuarantine, returned: Any
) -> None:
    """What a handler returns is its result: a generator or a mock does not undo the work it did."""
    processor = StreamProcessor(returned, quarantine=quarantine, metrics=False)
    result = processor.process(ticks("A", "B"))
    assert [record.data["TICKER"] for record in result.processed] == ["A", "B"]
    assert quarantine.envelopes == []


# --- transient failures are retryable by default ---


def throttling(code: str = "ProvisionedThroughputExceededException", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "slow down"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutRecord",
    )


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("read timed out"),
        ConnectionResetError(104, "Connection reset by peer"),
        throttling(),
        throttling("InternalFailure", 500),
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
        http.client.IncompleteRead(b"", 10),
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        IncompleteReadError(actual_bytes=1, expected_bytes=10),
        urllib.error.HTTPError("https://api.example.com", 429, "Too Many Requests", None, None),  # type: ignore[arg-type]
        urllib.error.HTTPError("https://api.example.com", 503, "Service Unavailable", None, None),  # type: ignore[arg-type]
    ],
    ids=[
        "timeout",
        "connection-reset",
        "throttling",
        "5xx",
        "endpoint-connection",
        "dns-eai-again",
        "urlerror-dns-eai-again",
        "incomplete-read",
        "ssl-eof",
        "botocore-incomplete-read",
        "http-429",
        "http-503",
    ],
)
def test_a_downstream_outage_is_handed_back_not_quarantined(
    quarantine: MemoryQuarantine, error: Exception
) -> None:
    def handle(record: Record) -> None:
        if record.data["TICKER"] == "B":
            raise error

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)
    assert processor(ticks("A", "B", "C")) == {
        "batchItemFailures": [{"itemIdentifier": sequence(1)}, {"itemIdentifier": sequence(2)}]
    }
    assert quarantine.envelopes == []


def test_a_type_declared_poison_is_quarantined_even_if_it_looks_transient(
    quarantine: MemoryQuarantine,
) -> None:
    class BadRecordTimeout(TimeoutError):
        """This service times out on one malformed record, every time."""

    def handle(record: Record) -> None:
        raise BadRecordTimeout("always")

    processor = StreamProcessor(handle, poison=[BadRecordTimeout], quarantine=quarantine, metrics=False)
    assert processor(ticks("A")) == {"batchItemFailures": []}
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.HANDLER_ERROR]


def test_transient_false_keeps_only_the_declared_retryable_types(quarantine: MemoryQuarantine) -> None:
    def handle(record: Record) -> None:
        raise TimeoutError("read timed out")

    processor = StreamProcessor(handle, transient=False, quarantine=quarantine, metrics=False)
    assert processor(ticks("A")) == {"batchItemFailures": []}
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.HANDLER_ERROR]


# --- SystemExit in user code ---


def test_sys_exit_in_a_record_handler_quarantines_that_record_and_the_batch_goes_on(
    quarantine: MemoryQuarantine,
) -> None:
    def handle(record: Record) -> None:
        if record.data["TICKER"] == "B":
            raise SystemExit(3)

    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(ticks("A", "B", "C"))
    assert [record.data["TICKER"] for record in result.processed] == ["A", "C"]
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.error_type, envelope.record["sequenceNumber"]) == (
        reasons.HANDLER_ERROR,
        "SystemExit",
        sequence(1),
    )


def test_sys_exit_in_a_batch_handler_is_bisected_to_its_record(quarantine: MemoryQuarantine) -> None:
    def write(records: list[Record]) -> None:
        if any(record.data["TICKER"] == "B" for record in records):
            raise SystemExit("no")

    result = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(
        ticks("A", "B", "C", "D")
    )
    assert [record.data["TICKER"] for record in result.processed] == ["A", "C", "D"]
    assert [envelope.record["sequenceNumber"] for envelope in quarantine.envelopes] == [sequence(1)]


# --- SQS: standard and FIFO ---


def failing_on(*bodies: str) -> Callable[[Record], None]:
    def handle(record: Record) -> None:
        if record.data["n"] in bodies:
            raise TimeoutError("downstream")

    return handle


def messages(count: int) -> list[str]:
    return [json.dumps({"n": str(n)}) for n in range(count)]


def message_ids(event: dict[str, Any], positions: Sequence[int]) -> list[dict[str, str]]:
    return [{"itemIdentifier": event["Records"][p]["messageId"]} for p in positions]


def test_a_standard_queue_reports_only_the_message_that_failed(quarantine: MemoryQuarantine) -> None:
    event = factories.sqs_event(messages(10))
    seen: list[str] = []

    def handle(record: Record) -> None:
        seen.append(record.data["n"])
        failing_on("2")(record)

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)
    assert processor(event) == {"batchItemFailures": message_ids(event, [2])}
    assert seen == [str(n) for n in range(10)]  # the other nine ran, and none is reported


def test_a_fifo_queue_reports_the_failed_message_and_every_later_one(quarantine: MemoryQuarantine) -> None:
    event = factories.sqs_event(messages(5), fifo=True, groups=["a", "b", "a", "b", "a"])
    processor = StreamProcessor(failing_on("1"), quarantine=quarantine, metrics=False)
    assert processor(event) == {"batchItemFailures": message_ids(event, [1, 2, 3, 4])}


def test_a_fifo_queue_with_group_scope_reports_only_the_later_messages_of_that_group(
    quarantine: MemoryQuarantine,
) -> None:
    event = factories.sqs_event(messages(5), fifo=True, groups=["a", "b", "a", "b", "a"])
    seen: list[str] = []

    def handle(record: Record) -> None:
        seen.append(record.data["n"])
        failing_on("1")(record)

    processor = StreamProcessor(handle, fifo_scope="group", quarantine=quarantine, metrics=False)
    assert processor(event) == {"batchItemFailures": message_ids(event, [1, 3])}
    assert seen == ["0", "1", "2", "4"]  # group b stopped at its failure; group a went on


def test_a_fifo_queue_is_told_from_its_arn_not_from_a_group_id(quarantine: MemoryQuarantine) -> None:
    event = factories.sqs_event(messages(3))
    for record in event["Records"]:
        record["attributes"]["MessageGroupId"] = "looks-fifo"
    processor = StreamProcessor(failing_on("0"), quarantine=quarantine, metrics=False)
    assert processor(event) == {"batchItemFailures": message_ids(event, [0])}


def test_an_unknown_fifo_scope_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"fifo_scope must be one of \['batch', 'group'\], got 'shard'"):
        StreamProcessor(metrics=False, fifo_scope="shard")


# --- the deadline on every path ---


class Clock:
    """time.monotonic() that moves only when a handler says so."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr("shardsafe.core.policy.time.monotonic", lambda: self.now)
        monkeypatch.setattr("shardsafe.core.policy.time.sleep", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_records_that_raise_stop_at_the_deadline_too(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)

    def slow_poison(record: Record) -> None:
        clock.now += 1.0
        raise ValueError("poison, slowly")

    processor = StreamProcessor(slow_poison, quarantine=quarantine, metrics=False)
    # 10 s left, 2 s kept in reserve: records start until 8 s have passed.
    result = processor.process(factories.kinesis_event(count=20), factories.FakeContext(remaining_ms=10_000))
    assert len(quarantine.envelopes) == 9
    assert result.item_failures == [sequence(i) for i in range(9, 20)]
    assert {why.why for _, why in result.handed_back} == {"out_of_time"}


def test_batch_handler_bisection_near_the_deadline_hands_records_back_instead_of_quarantining(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)

    def write(records: list[Record]) -> None:
        clock.now += 3.0
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("cannot write BAD")

    processor = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False)
    event = ticks("A", "B", "C", "D", "E", "F", "G", "BAD")
    result = processor.process(event, factories.FakeContext(remaining_ms=10_000))
    assert quarantine.envelopes == []  # no good record was quarantined for lack of time to bisect
    assert result.processed_count + len(result.handed_back) == 8
    assert (7, "out_of_time") in [(index, why.why) for index, why in result.handed_back]


class RecordingSink(MemoryQuarantine):
    def __init__(self) -> None:
        super().__init__()
        self.deadlines: list[float | None] = []

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        self.deadlines.append(deadline)
        return super().send(envelopes, deadline)


def test_the_quarantine_flush_is_given_the_invocation_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    sink = RecordingSink()
    StreamProcessor(quarantine=sink, metrics=False).process(
        factories.kinesis_event([b"bad"]), factories.FakeContext(remaining_ms=10_000)
    )
    # the flush may run until 300 ms before the end, never past it
    assert sink.deadlines == [pytest.approx(clock.now + 9.7)]


def test_the_sqs_quarantine_stops_trying_when_the_deadline_leaves_no_time_for_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shardsafe.core.quarantine.envelope import build_envelope
    from shardsafe.core.quarantine.sqs import SqsQuarantine

    clock = Clock(monkeypatch)
    monkeypatch.setattr("shardsafe.core.quarantine.batching.time.monotonic", lambda: clock.now)
    monkeypatch.setattr("shardsafe.core.quarantine.batching.time.sleep", clock.sleep)

    class Down:
        calls = 0

        def send_message_batch(self, **_: Any) -> dict[str, Any]:
            Down.calls += 1
            clock.now += 2.5
            raise ConnectionError("queue unreachable")

    sink = SqsQuarantine("https://sqs.us-east-1.amazonaws.com/1/q", client=Down(), max_attempts=10)
    envelope = build_envelope(
        reason=reasons.INVALID_JSON, payload=b"{", record={"eventSource": "aws:kinesis"}
    )
    [(_, why)] = sink.send([envelope], deadline=clock.now + 5.0)
    assert Down.calls == 1  # a second call could not have ended in time
    assert "queue unreachable" in why


# --- bounded decoding and strict JSON, through the processor ---


def test_a_compression_bomb_is_quarantined_with_its_compressed_bytes(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    bombs = [gzip.compress(b"[" + b"{}," * 20_000_000 + b"{}]"), zlib.compress(b" " * 200_000_000)]
    processor = StreamProcessor(quarantine=quarantine, metrics=False)
    result = processor.process(factories.kinesis_event([*bombs, factories.tick()]))
    assert result.processed_count == 1
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.TOO_LARGE, reasons.TOO_LARGE]
    assert [envelope.payload_bytes() for envelope in quarantine.envelopes] == bombs


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_that_rfc_8259_forbids_is_poison_unless_lenient(
    quarantine: MemoryQuarantine, constant: bytes
) -> None:
    payload = b'{"TICKER": "A", "PRICE": ' + constant + b"}"
    strict = StreamProcessor(quarantine=quarantine, metrics=False).process(factories.kinesis_event([payload]))
    assert [q.reason for q in strict.quarantined] == [reasons.INVALID_JSON]
    assert constant.decode().lstrip("-") in strict.quarantined[0].error_message
    lenient = StreamProcessor(strict_json=False, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([payload])
    )
    assert lenient.processed_count == 1


def test_a_lone_surrogate_in_json_is_poison(quarantine: MemoryQuarantine) -> None:
    result = StreamProcessor(quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([b'{"TICKER": "\\ud800"}', b'{"TICKER": "\\ud83d\\ude00"}'])
    )
    assert [q.reason for q in result.quarantined] == [reasons.INVALID_JSON]
    assert [record.data["TICKER"] for record in result.processed] == ["\N{GRINNING FACE}"]


# --- the last resort: the log, in parts that fit CloudWatch ---


class Unreachable(MemoryQuarantine):
    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, "SendMessageBatch failed: unreachable") for position in range(len(envelopes))]


@pytest.mark.parametrize("size", [196_000, 1_000_000])
def test_a_big_poison_record_no_store_took_is_logged_in_parts_that_put_it_back_together(
    capsys: pytest.CaptureFixture[str], size: int
) -> None:
    payload = b"\xff" + bytes(range(256)) * (size // 256)
    StreamProcessor(quarantine=Unreachable(), metrics=False).process(factories.kinesis_event([payload]))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines and all(len(line.encode()) <= logs.MAX_LINE_BYTES for line in lines)
    documents = [json.loads(line) for line in lines if '"shardsafe.quarantine_fallback"' in line]
    assert len(documents) > 1
    [whole] = logs.reassemble(documents, "payload_base64")
    assert base64.b64decode(whole["payload_base64"]) == payload
    assert whole["envelope"]["payload"]["sha256"] == hashlib.sha256(payload).hexdigest()


# --- the outcome table's own guards ---


def test_a_record_handed_back_without_an_item_identifier_is_quarantined_not_lost(
    quarantine: MemoryQuarantine,
) -> None:
    event = ticks("A", "B")
    del event["Records"][0]["kinesis"]["sequenceNumber"]

    def handle(record: Record) -> None:
        raise TimeoutError("downstream")

    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    # Lambda reads an empty itemIdentifier as "retry the whole batch": A is quarantined, B goes back
    assert result.response == {"batchItemFailures": [{"itemIdentifier": sequence(1)}]}
    assert [(e.reason, e.error_message) for e in quarantine.envelopes] == [
        (reasons.MALFORMED_RECORD, "record has no item identifier")
    ]
    assert result.received == len(result.item_failures) + len(result.quarantined)


def test_an_outcome_settled_twice_is_a_loud_bug_not_a_silent_overwrite() -> None:
    """No public path settles a position twice; the table refuses it rather than lose the first outcome."""
    from shardsafe.core.outcomes import PROCESSED
    from shardsafe.core.policy import Deadline, Policy
    from shardsafe.core.run import Invocation
    from shardsafe.core.sources import SOURCES, by_name, read_event
    from shardsafe.core.telemetry.observer import Observer

    batch = read_event(ticks("A"), by_name(SOURCES))
    assert not isinstance(batch, str)
    run = Invocation(Policy(), Observer(None, None), Deadline(None), batch, keep=False, collect=False)
    run.settle(0, PROCESSED)
    with pytest.raises(RuntimeError, match="settled twice"):
        run.settle(0, HandBack(HandBack.RETRYABLE))
    assert run.cells == [PROCESSED]


def test_a_batch_handler_outage_hands_the_whole_group_back_as_retryable(quarantine: MemoryQuarantine) -> None:
    def write(records: list[Record]) -> None:
        raise TimeoutError("the output bucket timed out")

    result = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick("A"), b"bad", factories.tick("C")])
    )
    assert [(index, why.why) for index, why in result.handed_back] == [(0, "retryable"), (2, "retryable")]
    assert result.item_failures == [sequence(0), sequence(2)]
    assert [envelope.record["sequenceNumber"] for envelope in quarantine.envelopes] == [sequence(1)]


# --- found by review: each of these lost a record or its bytes, or ended the invocation ---


def test_a_poison_message_too_big_for_an_envelope_is_kept_whole_in_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An SQS message cannot be read again once Lambda deletes it: its bytes must be somewhere."""
    body = "{not json " + "y" * 200_000
    quarantine = MemoryQuarantine(max_message_bytes=262_144)  # a queue created before 2025, no claim checks
    StreamProcessor(quarantine=quarantine, metrics=False).process(factories.sqs_event([body]))
    [envelope] = quarantine.envelopes
    assert envelope.truncated
    lines = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"event":"shardsafe.quarantine_fallback"' in line
    ]
    [document] = logs.reassemble(lines, "payload_base64")
    assert base64.b64decode(document["payload_base64"]) == body.encode()


@pytest.mark.parametrize("kind", ["generator", "async generator"])
def test_a_generator_handler_is_a_configuration_error_not_silent_success(kind: str) -> None:
    if kind == "generator":

        def handle(record: Record) -> Any:
            yield record

    else:

        async def handle(record: Record) -> Any:  # type: ignore[misc]
            yield record

    with pytest.raises(ValueError, match="is a generator function"):
        StreamProcessor(handle, metrics=False)
    with pytest.raises(ValueError, match="is a generator function"):
        StreamProcessor(batch_handler=handle, metrics=False)


def test_a_plain_handler_returning_an_unstarted_generator_is_processed_and_said_once(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """The handler ran; what it returned is its result. The generator's body never ran, which the log says
    once per processor (a generator function given as the handler itself is refused when it is built)."""

    def lazily(record: Record) -> Any:
        yield record.data

    plain = lambda record: lazily(record)  # noqa: E731, PLW0108 - a plain function returning a generator
    processor = StreamProcessor(plain, quarantine=quarantine, metrics=False)
    result = processor.process(ticks("A", "B"))
    processor.process(ticks("C"))
    assert len(result.processed) == 2 and quarantine.envelopes == []
    [warning] = [line for line in log_lines() if line["event"] == logs.WARNED]
    assert "lazily" in warning["message"] and "has not run" in warning["message"]


def test_a_batch_handler_that_changes_its_list_does_not_change_what_its_retry_gets(
    quarantine: MemoryQuarantine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: None)
    calls: list[list[str]] = []

    def write(records: list[Record]) -> None:
        calls.append([record.data["TICKER"] for record in records])
        if len(calls) == 1:
            records.pop()  # a handler that consumes its list, then fails
            raise TimeoutError("output timed out")

    result = StreamProcessor(
        batch_handler=write, report_batch_item_failures=False, quarantine=quarantine, metrics=False
    ).process(ticks("A", "B", "C"))
    assert calls == [["A", "B", "C"], ["A", "B", "C"]]
    assert result.processed_count == 3


def test_a_sink_that_answers_wrongly_still_leaves_every_payload_in_the_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Wrong(MemoryQuarantine):
        def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> Any:
            return list(envelopes)  # envelopes, not (envelope, why) pairs

    payloads = [b"bad-1", b"bad-2"]
    StreamProcessor(quarantine=Wrong(), metrics=False).process(factories.kinesis_event(payloads))
    lines = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"event":"shardsafe.quarantine_fallback"' in line
    ]
    logged = [
        base64.b64decode(document["payload_base64"]) for document in logs.reassemble(lines, "payload_base64")
    ]
    assert logged == payloads


def test_an_empty_item_identifier_is_never_handed_back(quarantine: MemoryQuarantine) -> None:
    event = factories.sqs_event(messages(2))
    event["Records"][0]["messageId"] = ""
    result = StreamProcessor(failing_on("0", "1"), quarantine=quarantine, metrics=False).process(event)
    assert result.response == {"batchItemFailures": message_ids(event, [1])}
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.MALFORMED_RECORD]


def test_an_async_handler_inside_a_running_event_loop_hands_its_records_back(
    quarantine: MemoryQuarantine,
) -> None:
    async def handle(record: Record) -> None:
        pytest.fail("must not run")

    processor = StreamProcessor(handle, quarantine=quarantine, metrics=False)

    async def main() -> Any:
        return processor.process(ticks("A", "B"))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = asyncio.run(main())
    assert quarantine.envelopes == []
    assert result.item_failures == [sequence(0), sequence(1)]
    assert "already running" in result.handed_back[0][1].error_message


def test_a_custom_decoder_that_times_out_hands_the_record_back(quarantine: MemoryQuarantine) -> None:
    def decode(payload: bytes) -> object:
        raise TimeoutError("schema registry timed out")

    processor = StreamProcessor(lambda record: None, decode=decode, quarantine=quarantine, metrics=False)
    assert processor(ticks("A")) == {"batchItemFailures": [{"itemIdentifier": sequence(0)}]}
    assert quarantine.envelopes == []


def test_a_custom_decoder_that_fails_on_the_record_still_quarantines_it(quarantine: MemoryQuarantine) -> None:
    def decode(payload: bytes) -> object:
        raise ValueError("not protobuf")

    StreamProcessor(lambda record: None, decode=decode, quarantine=quarantine, metrics=False)(ticks("A"))
    assert [envelope.reason for envelope in quarantine.envelopes] == [reasons.DECODE_ERROR]


class Halt(BaseException):
    """A BaseException of the user's own."""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise SystemExit("from __str__")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (asyncio.CancelledError(), "handed_back"),
        (Halt("stop"), "quarantined"),
        (Unprintable(), "quarantined"),
    ],
    ids=["cancelled", "custom-base-exception", "str-raises-system-exit"],
)
def test_no_exception_from_a_handler_escapes_the_processor(
    quarantine: MemoryQuarantine, error: BaseException, outcome: str
) -> None:
    def handle(record: Record) -> None:
        if record.data["TICKER"] == "B":
            raise error

    event = factories.kinesis_event([b"bad", factories.tick("B")])
    result = StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    assert quarantine.envelopes[0].record["sequenceNumber"] == sequence(0)  # the earlier poison was flushed
    if outcome == "handed_back":
        assert result.item_failures == [sequence(1)]
    else:
        assert [e.record["sequenceNumber"] for e in quarantine.envelopes] == [sequence(0), sequence(1)]


def test_an_async_handlers_event_loop_is_closed_with_its_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unclosed loop leaks its self-pipe sockets: one per processor built with an async handler."""
    import asyncio
    import gc

    made: list[asyncio.AbstractEventLoop] = []
    new_event_loop = asyncio.new_event_loop
    monkeypatch.setattr(asyncio, "new_event_loop", lambda: made.append(new_event_loop()) or made[-1])

    async def handle(record: Any) -> None:
        return None

    processor = StreamProcessor(handle, quarantine=MemoryQuarantine(), metrics=False)
    processor.process(factories.kinesis_event([factories.tick()]))
    [loop] = made
    assert not loop.is_closed(), "the loop lives as long as its processor"
    del processor
    gc.collect()
    assert loop.is_closed()
