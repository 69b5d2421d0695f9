"""The oracle, against the user's own code and settings: every record by identity, every quarantined payload byte
for byte, whatever the handler does to what it is given, whatever the sink answers and the logging allows.

A sibling of tests/functional/test_oracle.py. Each record's payload says what the handler does with it, and
every handler here is hostile: it checks that it was given the record as Lambda delivered it (the data and
the raw record, deep), then changes both in place (DynamoDB's ``NewImage`` deserialised, SQS's body parsed,
Kinesis' ``data`` rewritten, coordinates overwritten) before it succeeds or fails. Async handlers also
start tasks: one that must finish before the next record (its record succeeded), one that must never run
(its record failed). A batch handler variant edits every record and fails on the poison ones, so bisection
must hand each half the records as delivered.

The quarantine is one of: a plain in-memory sink, one that copies envelopes and fails half of them by
position, one that raises with a 600 KB message, one that cannot be reached and says why in 600 KB; the logging is as set up, or
shardsafe's logger raised above CRITICAL, or ``logging.disable``, or Lambda's JSON log format with the
FATAL application level (the lines are filtered as Lambda documents it). Whatever the sink did not take
must come back from the log.

Checked for each example, through ``process()`` and through the Lambda entry point: each position's outcome
(the oracle works it out from the source's rules alone), the exact ``batchItemFailures``, every quarantined
record found once (in the sink or the log) with its reason and the bytes it arrived with, the handler run on
exactly the records it should, no task of a failed record run, and the event left as Lambda sent it (but for
a processed DynamoDB record's stream record, which the handler was given as it is and changed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import dataclasses
import io
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardsafe import HandBack, Record, StreamProcessor, reasons
from shardsafe.core.outcomes import PROCESSED, QuarantinedRecord
from shardsafe.core.quarantine.envelope import Envelope, parse_log_fallback
from shardsafe.core.quarantine.memory import MemoryQuarantine
from shardsafe.core.records import json_bytes
from shardsafe.core.sources.attribute_values import item
from shardsafe.core.telemetry import logs
from tests import factories
from tests.functional.test_last_copy import sent_by_lambda

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SOURCES = ("kinesis", "dynamodb", "sqs", "fifo")
#: behaviour -> the reason it is quarantined for, when it is poison
POISON = {"poison": reasons.HANDLER_ERROR, "exit": reasons.HANDLER_ERROR, "garbage": reasons.INVALID_UTF8}
#: always fails retryably; fails the first time only (an in-process retry clears it)
RETRYABLE = ("retry", "flaky")
RECORD_BEHAVIOURS = ("ok", "poison", "exit", "garbage", "retry", "flaky")
ASYNC_BEHAVIOURS = ("task-ok", "task-then-poison")
BATCH_BEHAVIOURS = ("ok", "poison", "garbage")
SINKS = ("memory", "copying", "raising", "unreachable")
LOGGING = ("as-set", "level-raised", "disabled", "lambda-json-fatal")


# --- the quarantine sinks ---


class CopyingSink(MemoryQuarantine):
    """Keeps copies of the envelopes at even positions; reports the odd ones undelivered, by position."""

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        copies = [dataclasses.replace(envelope) for envelope in envelopes]
        self.envelopes.extend(copies[::2])
        return [(position, "copied, not sent") for position in range(1, len(copies), 2)]


class RaisingSink(MemoryQuarantine):
    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        raise RuntimeError("the queue said no: " + "x" * 600_000)


class UnreachableSink(MemoryQuarantine):
    """Cannot reach its queue, and says so at length (600 KB a reason)."""

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, "unreachable: " + "y" * 600_000) for position in range(len(envelopes))]


SINK_CLASSES = {"memory": MemoryQuarantine, "copying": CopyingSink, "raising": RaisingSink}
SINK_CLASSES["unreachable"] = UnreachableSink


@contextlib.contextmanager
def logging_set_up(how: str) -> Iterator[None]:
    logs.enabled(logs.INFO)  # shardsafe's loggers configured, as on first use
    logger = logging.getLogger(logs.EVENTS_LOGGER)
    level = logger.level
    saved = {name: os.environ.get(name) for name in (logs.LOG_FORMAT_ENV, logs.LOG_LEVEL_ENV)}
    try:
        if how == "level-raised":
            logger.setLevel(logging.CRITICAL + 1)
        elif how == "disabled":
            logging.disable(logging.CRITICAL)
        elif how == "lambda-json-fatal":
            os.environ[logs.LOG_FORMAT_ENV], os.environ[logs.LOG_LEVEL_ENV] = "JSON", "FATAL"
        yield
    finally:
        logger.setLevel(level)
        logging.disable(logging.NOTSET)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- the case ---


@dataclass(frozen=True)
class Case:
    source: str
    behaviours: tuple[str, ...]
    groups: tuple[str, ...]
    report: bool
    fifo_scope: str
    sink: str
    logging: str
    mode: str  # "record", "async" or "batch"

    def payload(self, position: int) -> bytes:
        behaviour = self.behaviours[position]
        if behaviour == "garbage":
            return b"\xff\xfe" + position.to_bytes(4, "big")
        return json.dumps(
            {"id": position, "do": behaviour, "nested": {"list": [1, 2, {"deep": True}]}}
        ).encode()

    def event(self) -> dict[str, Any]:
        payloads = [self.payload(position) for position in range(len(self.behaviours))]
        if self.source == "kinesis":
            return factories.kinesis_event(payloads)
        if self.source == "dynamodb":
            images = [
                {
                    "id": {"N": str(p)},
                    "do": {"S": b},
                    "nested": {"M": {"list": {"L": [{"N": "1"}, {"N": "2"}]}}},
                }
                for p, b in enumerate(self.behaviours)
            ]
            return factories.dynamodb_event(images)
        bodies = [payload.decode("utf-8", "surrogateescape") for payload in payloads]
        return factories.sqs_event(bodies, fifo=self.source == "fifo", groups=list(self.groups))


def delivered_bytes(case: Case, raw: dict[str, Any]) -> bytes:
    if case.source == "kinesis":
        return base64.b64decode(raw["kinesis"]["data"])
    if case.source == "dynamodb":
        return json_bytes(raw)
    return raw["body"].encode("utf-8", "surrogatepass")


def item_of(case: Case, raw: dict[str, Any]) -> str:
    if case.source == "kinesis":
        return str(raw["kinesis"]["sequenceNumber"])
    if case.source == "dynamodb":
        return str(raw["dynamodb"]["SequenceNumber"])
    return str(raw["messageId"])


def envelope_item(case: Case, envelope: Envelope) -> str:
    key = "messageId" if case.source in ("sqs", "fifo") else "sequenceNumber"
    return str(envelope.record[key])


def oracle(case: Case) -> list[tuple[str, str | None]]:
    """``(outcome, reason)`` for every position, from the source's rules alone."""
    behaviours = case.behaviours
    expected: list[tuple[str, str | None] | None] = [None] * len(behaviours)
    for position, behaviour in enumerate(behaviours):
        if expected[position] is not None:
            continue
        if behaviour in ("ok", "task-ok") or (behaviour == "flaky" and not case.report):
            expected[position] = ("processed", None)
        elif behaviour in POISON:
            expected[position] = ("quarantined", POISON[behaviour])
        elif behaviour == "task-then-poison":
            expected[position] = ("quarantined", reasons.HANDLER_ERROR)
        elif not case.report:  # "retry": retried once in process, then quarantined
            expected[position] = ("quarantined", reasons.RETRIES_EXHAUSTED)
        else:  # "retry" or "flaky", handed back with what its source keeps in order
            expected[position] = ("handed_back", HandBack.RETRYABLE)
            if case.source == "sqs":
                continue
            for later in range(position + 1, len(behaviours)):
                if (
                    case.source in ("kinesis", "dynamodb")
                    or case.fifo_scope == "batch"
                    or case.groups[later] == case.groups[position]
                ):
                    expected[later] = ("handed_back", HandBack.AFTER_FAILURE)
    return [outcome for outcome in expected if outcome is not None]


def observed(cell: object) -> tuple[str, str | None]:
    if cell is PROCESSED or isinstance(cell, Record):
        return ("processed", None)
    if isinstance(cell, QuarantinedRecord):
        return ("quarantined", cell.reason)
    if isinstance(cell, HandBack):
        return ("handed_back", cell.why)
    return ("pending", None)


# --- the hostile handlers ---


@dataclass
class Hostile:
    """Checks it got the record as delivered, then changes it in place, then does what the payload says."""

    case: Case
    delivered: list[dict[str, Any]]  # a deep copy of the event's records, taken before processing
    ran: list[int] = field(default_factory=list)
    written: list[tuple[str, int]] = field(default_factory=list)
    seen_flaky: set[int] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)

    def read(self, record: Record) -> tuple[int, str]:
        return int(record.data["id"]), record.data["do"]  # DynamoDB's data is the item, as Python values

    def check_and_change(self, record: Record, position: int) -> None:
        raw = self.delivered[position]
        data = (
            item(raw["dynamodb"]["NewImage"])
            if self.case.source == "dynamodb"
            else json.loads(delivered_bytes(self.case, raw))
        )
        if record.data != data or record.raw != raw:
            self.wrong.append(f"record {position} was not given as delivered: {record.data!r}")
        # what handlers do to what they are given: the data, and the stream record itself (a DynamoDB
        # handler that deserialises NewImage in place, the pattern from before records read as items)
        record.data["nested"]["list"].append("changed")
        record.data["do"] = "changed"
        if self.case.source == "dynamodb":
            image = record.raw["dynamodb"]["NewImage"]
            for name, value in image.items():
                (image[name],) = value.values()
        record.raw["eventSourceARN"] = "arn:changed"
        if "body" in record.raw:
            record.raw["body"] = {"parsed": "in place"}
        if "kinesis" in record.raw:
            record.raw["kinesis"]["data"] = base64.b64encode(b"rewritten").decode()
            record.raw["kinesis"]["sequenceNumber"] = "1"
        if "dynamodb" in record.raw:
            record.raw["dynamodb"]["SequenceNumber"] = "1"

    def act(self, record: Record) -> int:
        position, behaviour = self.read(record)
        self.check_and_change(record, position)
        self.ran.append(position)
        if behaviour == "poison":
            raise ValueError(f"record {position} is poison")
        if behaviour == "exit":
            raise SystemExit(f"record {position} called sys.exit")
        if behaviour == "retry":
            raise TimeoutError(f"record {position}: downstream timed out")
        if behaviour == "flaky" and position not in self.seen_flaky:
            self.seen_flaky.add(position)
            raise TimeoutError(f"record {position}: timed out once")
        return position

    def __call__(self, record: Record) -> int:
        return self.act(record)


class AsyncHostile(Hostile):
    async def __call__(self, record: Record) -> int:  # type: ignore[override]
        position, behaviour = self.read(record)

        async def write(kind: str) -> None:
            await asyncio.sleep(0.001)
            self.written.append((kind, position))

        if behaviour == "task-ok":
            asyncio.create_task(write("task"))  # noqa: RUF006 - fire and forget, as handlers do
        elif behaviour == "task-then-poison":
            asyncio.create_task(write("leaked"))  # noqa: RUF006
            await asyncio.sleep(0)
            self.check_and_change(record, position)
            self.ran.append(position)
            raise ValueError(f"record {position} failed after starting a task")
        await asyncio.sleep(0)
        return self.act(record)


@dataclass
class HostileBatch:
    """A batch handler that edits every record it is given, then fails if any of them is poison."""

    case: Case
    delivered: list[dict[str, Any]]
    calls: list[list[int]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def __call__(self, records: list[Record]) -> None:
        reader = Hostile(self.case, self.delivered)
        positions = []
        for record in records:
            position, _ = reader.read(record)
            reader.check_and_change(record, position)
            positions.append(position)
        self.wrong += reader.wrong
        self.calls.append(positions)
        if any(self.case.behaviours[position] == "poison" for position in positions):
            raise ValueError("a poison record in the call")


# --- the check ---


def kept_in_log(case: Case, text: str) -> list[Envelope]:
    lines = text.split("\n")[:-1]
    if case.logging == "lambda-json-fatal":
        lines = [line for line in lines if sent_by_lambda(line, "FATAL")]
    documents = [json.loads(line) for line in lines if line.startswith("{")]
    fallbacks = [doc for doc in documents if doc.get("event") == logs.QUARANTINE_FALLBACK]
    envelopes = [parse_log_fallback(doc) for doc in logs.reassemble(fallbacks, "payload_base64")]
    assert all(envelope is not None for envelope in envelopes), "a fallback line without its envelope"
    return [envelope for envelope in envelopes if envelope is not None]


def check(case: Case, *, entry: bool) -> None:
    event = case.event()
    delivered = copy.deepcopy(event["Records"])
    sink = SINK_CLASSES[case.sink](max_message_bytes=1_048_576)
    handler: Any
    if case.mode == "batch":
        handler = HostileBatch(case, delivered)
        processor = StreamProcessor(batch_handler=handler, quarantine=sink, metrics=False, tracing=False)
    else:
        handler = (AsyncHostile if case.mode == "async" else Hostile)(case, delivered)
        processor = StreamProcessor(
            handler,
            report_batch_item_failures=case.report,
            retry_attempts=1,
            retry_delay=0,
            fifo_scope=case.fifo_scope,
            quarantine=sink,
            metrics=False,
            tracing=False,
        )
    expected = (
        oracle(case)
        if case.mode != "batch"
        else [("quarantined", POISON[b]) if b in POISON else ("processed", None) for b in case.behaviours]
    )
    items = [item_of(case, raw) for raw in delivered]
    with logging_set_up(case.logging), contextlib.redirect_stdout(io.StringIO()) as out:
        if entry:
            response = processor(event, factories.FakeContext())
        else:
            result = processor.process(event, factories.FakeContext())
            response = result.response
    if not entry:
        assert [observed(cell) for cell in result.outcomes] == expected
    # handed back: exactly those records, by the identifier they were delivered with
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": items[p]}
            for p, (outcome, _) in enumerate(expected)
            if outcome == "handed_back"
        ]
    }
    # quarantined: each found once, in the sink or the log, with its reason and the bytes it arrived with
    found = [*sink.envelopes, *kept_in_log(case, out.getvalue())]
    by_item: dict[str, Envelope] = {}
    for envelope in found:
        item = envelope_item(case, envelope)
        assert item not in by_item, f"record {item} kept twice"
        by_item[item] = envelope
    quarantined = {p: reason for p, (outcome, reason) in enumerate(expected) if outcome == "quarantined"}
    assert sorted(by_item) == sorted(items[p] for p in quarantined)
    for position, reason in quarantined.items():
        envelope = by_item[items[position]]
        assert envelope.reason == reason
        assert envelope.payload_bytes() == delivered_bytes(case, delivered[position])
    # the user's code: given every record as delivered, run on the right ones, no task of a failed record run
    assert handler.wrong == []
    if case.mode == "batch":
        good = [p for p, b in enumerate(case.behaviours) if b != "garbage"]
        assert sorted({p for call in handler.calls for p in call}) == good
    else:
        reached = [p for p, (_, why) in enumerate(expected) if why != HandBack.AFTER_FAILURE]
        ran_on = [p for p in reached if case.behaviours[p] != "garbage"]
        ran_on += [p for p in ran_on if case.behaviours[p] in RETRYABLE and not case.report]  # the retry
        assert sorted(handler.ran) == sorted(ran_on)
        assert [w for w in handler.written if w[0] == "leaked"] == []
        assert sorted(p for kind, p in handler.written if kind == "task") == [
            p for p in reached if case.behaviours[p] == "task-ok"
        ]
    # the event as Lambda sent it: user code had copies
    for position, (after, before) in enumerate(zip(event["Records"], delivered, strict=True)):
        assert after == before, f"record {position} changed"


def cases(mode: str) -> st.SearchStrategy[Case]:
    behaviours = {"record": RECORD_BEHAVIOURS, "async": RECORD_BEHAVIOURS + ASYNC_BEHAVIOURS}
    behaviours["batch"] = BATCH_BEHAVIOURS

    def build(source: str, size: int) -> st.SearchStrategy[Case]:
        allowed = [b for b in behaviours[mode] if not (source == "dynamodb" and b == "garbage")]
        return st.builds(
            Case,
            source=st.just(source),
            behaviours=st.lists(st.sampled_from(allowed), min_size=size, max_size=size).map(tuple),
            groups=st.lists(st.sampled_from(["g1", "g2"]), min_size=size, max_size=size).map(tuple),
            report=st.booleans(),
            fifo_scope=st.sampled_from(["batch", "group"]),
            sink=st.sampled_from(SINKS),
            logging=st.sampled_from(LOGGING),
            mode=st.just(mode),
        )

    return st.tuples(st.sampled_from(SOURCES), st.integers(min_value=1, max_value=8)).flatmap(
        lambda pair: build(*pair)
    )


@SETTINGS
@given(case=cases("record"), entry=st.booleans())
def test_hostile_record_handlers_lose_nothing_and_keep_what_was_delivered(case: Case, entry: bool) -> None:
    check(case, entry=entry)


@SETTINGS
@given(case=cases("async"), entry=st.booleans())
def test_hostile_async_handlers_and_their_tasks_lose_nothing(case: Case, entry: bool) -> None:
    check(case, entry=entry)


@SETTINGS
@given(case=cases("batch"), entry=st.booleans())
def test_hostile_batch_handlers_are_bisected_on_the_records_as_delivered(case: Case, entry: bool) -> None:
    check(case, entry=entry)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("sink", SINKS)
def test_a_fixed_hostile_batch_for_every_source_and_sink(source: str, sink: str) -> None:
    """One fixed batch per source and sink, so a failure reads without hypothesis' shrinking."""
    behaviours = ("ok", "poison", "flaky", "exit", "retry", "ok")
    groups = ("g1", "g2", "g1", "g2", "g1", "g2")
    for report in (True, False):
        for logging_how in LOGGING:
            case = Case(source, behaviours, groups, report, "group", sink, logging_how, "record")
            check(case, entry=False)
            check(dataclasses.replace(case, mode="async"), entry=True)
