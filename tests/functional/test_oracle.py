"""Every record's outcome, by identity, against an oracle that knows what each record does.

Each record's payload says what the handler will do with it (or is bytes no decoder takes). The
oracle works out, from the source's rules alone, where each record must end: processed (and the
handler ran on it exactly once), quarantined with its exact bytes and reason, or handed back in
``batchItemFailures``. The processor is checked position by position, through ``process()`` and
through the Lambda entry point, with plain and ``async def`` handlers. A processor that processes
nothing, drops a record, quarantines a retryable error or hands back the wrong messages fails here.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardsafe import HandBack, MemoryQuarantine, Record, RetryableError, StreamProcessor, reasons
from shardsafe.core.outcomes import PROCESSED, QuarantinedRecord
from shardsafe.core.sources import SOURCES
from tests import factories
from tests.functional.msk_source import MskSource, msk_event

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: What a record does, and the reason it is quarantined for when it is poison.
POISON_REASONS = {
    "poison": reasons.HANDLER_ERROR,
    "exit": reasons.HANDLER_ERROR,
    "garbage": reasons.INVALID_UTF8,
    "not-json": reasons.INVALID_JSON,
    "nan": reasons.INVALID_JSON,
    "invalid": reasons.VALIDATION_ERROR,
}
RETRYABLE = ("retry", "timeout", "throttled")
BEHAVIOURS = ("ok", *POISON_REASONS, *RETRYABLE)


def payload_for(behaviour: str, position: int) -> bytes:
    if behaviour == "garbage":
        return b"\xff\xfe" + position.to_bytes(4, "big")
    if behaviour == "not-json":
        return b"{not json " + str(position).encode()
    if behaviour == "nan":
        return b'{"id": %d, "do": "ok", "PRICE": NaN}' % position
    if behaviour == "invalid":
        return json.dumps({"id": position, "do": "ok", "PRICE": "not a number"}).encode()
    return json.dumps({"id": position, "do": behaviour, "PRICE": 1.5}).encode()


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "PutItem",
    )


@dataclass
class Handler:
    """Does to each record what its payload says, and remembers which records it ran on."""

    ran: list[int] = field(default_factory=list)

    def act(self, record: Record) -> int:
        position = record.data["id"]
        self.ran.append(position)
        behaviour = record.data["do"]
        if behaviour == "poison":
            raise ValueError(f"record {position} is poison")
        if behaviour == "exit":
            raise SystemExit(f"record {position} called sys.exit")
        if behaviour == "retry":
            raise RetryableError(f"record {position}: downstream busy")
        if behaviour == "timeout":
            raise TimeoutError(f"record {position}: downstream timed out")
        if behaviour == "throttled":
            raise throttled()
        return position

    def __call__(self, record: Record) -> int:
        return self.act(record)


class AsyncHandler(Handler):
    async def __call__(self, record: Record) -> int:  # type: ignore[override]
        return self.act(record)


def validate(data: dict[str, Any]) -> None:
    if not isinstance(data.get("PRICE"), float):
        raise ValueError(f"PRICE must be a number, got {data.get('PRICE')!r}")


@dataclass(frozen=True)
class Case:
    source: str  # "kinesis", "sqs", "fifo", "msk" (a test-only source: tests/functional/msk_source.py)
    behaviours: tuple[str, ...]
    groups: tuple[str, ...]  # the FIFO message group, or the Kafka partition
    report: bool
    fifo_scope: str

    def in_event_order(self) -> Case:
        """The case with its records in the order the event lists them: an MSK event groups them by
        topic-partition, so positions are the group's, then the record's within it."""
        if self.source != "msk":
            return self
        order = sorted(range(len(self.behaviours)), key=lambda p: self.groups[p])
        return Case(
            self.source,
            tuple(self.behaviours[p] for p in order),
            tuple(self.groups[p] for p in order),
            self.report,
            self.fifo_scope,
        )

    def event(self) -> dict[str, Any]:
        payloads = [payload_for(behaviour, position) for position, behaviour in enumerate(self.behaviours)]
        if self.source == "kinesis":
            return factories.kinesis_event(payloads)
        if self.source == "msk":
            return msk_event(payloads, [int(group[1:]) for group in self.groups])
        bodies = [payload.decode("utf-8", "surrogateescape") for payload in payloads]
        return factories.sqs_event(bodies, fifo=self.source == "fifo", groups=list(self.groups))

    def sent_bytes(self, raw: dict[str, Any]) -> bytes:
        if self.source == "kinesis":
            return base64.b64decode(raw["kinesis"]["data"])
        if self.source == "msk":
            return base64.b64decode(raw["value"])
        return raw["body"].encode("utf-8", "surrogatepass")


def oracle(case: Case) -> list[tuple[str, str | None]]:
    """``(outcome, reason)`` for every position, from the rules of the source alone."""
    expected: list[tuple[str, str | None] | None] = [None] * len(case.behaviours)
    for position, behaviour in enumerate(case.behaviours):
        if expected[position] is not None:
            continue
        if behaviour == "ok":
            expected[position] = ("processed", None)
        elif behaviour in POISON_REASONS:
            expected[position] = ("quarantined", POISON_REASONS[behaviour])
        elif not case.report:  # retried in process (no retries configured), then quarantined
            expected[position] = ("quarantined", reasons.RETRIES_EXHAUSTED)
        else:
            expected[position] = ("handed_back", HandBack.RETRYABLE)
            if case.source == "sqs":
                continue  # a standard queue has no order: only the failed message goes back
            for later in range(position + 1, len(case.behaviours)):
                same_group = case.groups[later] == case.groups[position]
                if case.source == "msk" and not same_group:
                    continue  # Kafka resumes each partition on its own
                if case.source in ("kinesis", "msk") or case.fifo_scope == "batch" or same_group:
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


def item_of(case: Case, raw: dict[str, Any]) -> Any:
    """What Lambda reads in ``batchItemFailures`` for the record."""
    if case.source == "kinesis":
        return raw["kinesis"]["sequenceNumber"]
    if case.source == "msk":
        return {"partition": f"{raw['topic']}-{raw['partition']}", "offset": raw["offset"]}
    return raw["messageId"]


def envelope_item(case: Case, record: dict[str, Any]) -> Any:
    """The same, from a quarantine envelope's ``record`` section."""
    if case.source == "kinesis":
        return record["sequenceNumber"]
    if case.source == "msk":
        return {"partition": record["shardId"], "offset": int(record["sequenceNumber"])}
    return record["messageId"]


def check(case: Case, *, use_async: bool, entry: bool) -> None:
    case = case.in_event_order()
    handler = AsyncHandler() if use_async else Handler()
    quarantine = MemoryQuarantine(max_message_bytes=1_048_576)
    processor = StreamProcessor(
        handler,
        validate=validate,
        report_batch_item_failures=case.report,
        retry_attempts=0,
        fifo_scope=case.fifo_scope,
        quarantine=quarantine,
        metrics=False,
        tracing=False,
        sources=(*SOURCES, MskSource()),
    )
    event = case.event()
    raws = MskSource().event_records(event) if case.source == "msk" else event["Records"]
    assert raws is not None
    expected = oracle(case)
    items = [item_of(case, raw) for raw in raws]
    if entry:
        response = processor(event, factories.FakeContext())
    else:
        result = processor.process(event, factories.FakeContext())
        assert [observed(cell) for cell in result.outcomes] == expected
        response = result.response
        assert result.accounting_ok
    # handed back: exactly those records, by item identifier, in batch order
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": items[p]}
            for p, (outcome, _) in enumerate(expected)
            if outcome == "handed_back"
        ]
    }
    # quarantined: exactly those records, each with its own bytes and reason
    by_item = {
        json.dumps(envelope_item(case, envelope.record)): envelope for envelope in quarantine.envelopes
    }
    assert len(by_item) == len(quarantine.envelopes)
    quarantined = {p: reason for p, (outcome, reason) in enumerate(expected) if outcome == "quarantined"}
    assert sorted(by_item) == sorted(json.dumps(items[p]) for p in quarantined)
    for position, reason in quarantined.items():
        envelope = by_item[json.dumps(items[position])]
        assert envelope.reason == reason
        assert envelope.payload_bytes() == case.sent_bytes(raws[position])
    # the handler ran, once, on every record that decoded and validated and was not handed back unseen
    ran_on = [
        p
        for p, behaviour in enumerate(case.behaviours)
        if behaviour not in ("garbage", "not-json", "nan", "invalid")
        and expected[p][1] != HandBack.AFTER_FAILURE
    ]
    assert handler.ran == ran_on


cases = st.integers(min_value=0, max_value=12).flatmap(
    lambda size: st.builds(
        Case,
        source=st.sampled_from(["kinesis", "sqs", "fifo", "msk"]),
        behaviours=st.lists(st.sampled_from(BEHAVIOURS), min_size=size, max_size=size).map(tuple),
        groups=st.lists(st.sampled_from(["g1", "g2"]), min_size=size, max_size=size).map(tuple),
        report=st.booleans(),
        fifo_scope=st.sampled_from(["batch", "group"]),
    )
)


@SETTINGS
@given(case=cases, use_async=st.booleans())
def test_every_record_ends_where_the_oracle_says_through_process(case: Case, use_async: bool) -> None:
    check(case, use_async=use_async, entry=False)


@SETTINGS
@given(case=cases, use_async=st.booleans())
def test_every_record_ends_where_the_oracle_says_through_the_lambda_entry(
    case: Case, use_async: bool
) -> None:
    check(case, use_async=use_async, entry=True)


@pytest.mark.parametrize("source", ["kinesis", "sqs", "fifo", "msk"])
def test_the_oracle_sees_a_mixed_batch(source: str) -> None:
    """One fixed batch with every behaviour, so a failure here reads without hypothesis' shrinking."""
    behaviours = ("ok", "poison", "ok", "timeout", "ok", "garbage", "throttled", "exit", "ok", "nan")
    groups = ("g1", "g2", "g1", "g2", "g1", "g2", "g1", "g2", "g1", "g2")
    for report in (True, False):
        for scope in ("batch", "group"):
            case = Case(source, behaviours, groups, report, scope)
            check(case, use_async=False, entry=False)
            check(case, use_async=True, entry=True)
