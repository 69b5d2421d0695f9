"""KPL aggregates through the whole handler: each user record isolated, each outcome checked by identity."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import (
    HandBack,
    KinesisRecord,
    MemoryMetrics,
    MemoryQuarantine,
    Record,
    RetryableError,
    StreamProcessor,
    reasons,
)
from shardsafe.core.sources.kpl import KplUserRecord
from tests import factories, kpl


def tick_bytes(ticker: str, n: int = 0) -> bytes:
    return json.dumps(factories.tick(ticker, n=n)).encode()


def sequence(index: int) -> str:
    return str(factories.FIRST_SEQUENCE + index)


class Seen:
    """The record handler: what it was given, by identity; raises for the tickers listed."""

    def __init__(self, raising: dict[str, Exception] | None = None) -> None:
        self.raising = raising or {}
        self.records: list[Record] = []

    def __call__(self, record: Record) -> None:
        self.records.append(record)
        error = self.raising.get(record.data["TICKER"])
        if error is not None:
            raise error

    @property
    def identities(self) -> list[tuple[str, ...] | None]:
        return [record.identity for record in self.records]


def identity(index: int, sub: int | None = None) -> tuple[str, ...]:
    base = (factories.STREAM_ARN, factories.SHARD_ID, sequence(index))
    return base if sub is None else (*base, str(sub))


@pytest.mark.parametrize("writer", sorted(kpl.WRITERS))
def test_a_poison_user_record_is_quarantined_alone_with_its_own_bytes_key_and_sub_sequence_number(
    writer: str, quarantine: MemoryQuarantine
) -> None:
    poison = b'{"TICKER": "BAD", "PRICE": '
    users = [
        ("key-a", None, tick_bytes("A")),
        ("key-b", "170141183460469231731687303715884105728", poison),
        ("key-c", None, tick_bytes("C")),
    ]
    event = factories.kinesis_event(
        [
            factories.kinesis_record(factories.tick("before"), sequence=0),
            kpl.aggregated_record(users, sequence=1, writer=writer),
            factories.kinesis_record(factories.tick("after"), sequence=2),
        ]
    )
    handler = Seen()
    result = StreamProcessor(handler, quarantine=quarantine, metrics=False).process(event)

    assert handler.identities == [identity(0), identity(1, 0), identity(1, 2), identity(2)]
    assert [record.partition_key for record in handler.records] == ["AMZN", "key-a", "key-c", "AMZN"]
    assert all(type(record) is KplUserRecord for record in handler.records[1:3])
    assert [r.sub_sequence_number for r in handler.records] == [None, 0, 2, None]
    assert result.response == {"batchItemFailures": []}
    assert (result.received, result.aggregated_records, result.user_records) == (5, 1, 3)
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.INVALID_JSON
    assert envelope.payload_bytes() == poison
    assert envelope.record["sequenceNumber"] == sequence(1)
    assert envelope.record["partitionKey"] == "key-b"
    assert envelope.record["subSequenceNumber"] == 1
    assert envelope.record["explicitHashKey"] == "170141183460469231731687303715884105728"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[:-1] + bytes([data[-1] ^ 0xFF]), reasons.KPL_BAD_CHECKSUM),
        (lambda data: kpl.frame(data[4:-16][:-3]), reasons.KPL_UNREADABLE),
    ],
    ids=["bad md5", "truncated protobuf"],
)
def test_a_broken_aggregate_is_quarantined_whole_with_a_reason_of_its_own(
    damage: Callable[[bytes], bytes], reason: str, quarantine: MemoryQuarantine
) -> None:
    broken = damage(kpl.protobuf_aggregate([("k", None, tick_bytes("A")), ("k", None, tick_bytes("B"))]))
    event = factories.kinesis_event([kpl.raw_record(broken, sequence=0), factories.tick("C")])
    event["Records"][1] = factories.kinesis_record(factories.tick("C"), sequence=1)
    handler = Seen()
    result = StreamProcessor(handler, quarantine=quarantine, metrics=False).process(event)
    assert handler.identities == [identity(1)]
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.payload_bytes()) == (reason, broken)
    assert "subSequenceNumber" not in envelope.record and envelope.record["sequenceNumber"] == sequence(0)
    assert (result.aggregated_records, result.user_records) == (0, 0)


def test_a_retryable_user_record_hands_back_its_aggregate_once_and_everything_after_it(
    quarantine: MemoryQuarantine,
) -> None:
    users = [("k", None, tick_bytes(ticker)) for ticker in ("A", "SLOW", "B")]
    event = factories.kinesis_event(
        [
            factories.kinesis_record(factories.tick("before"), sequence=0),
            kpl.aggregated_record(users, sequence=1),
            factories.kinesis_record(factories.tick("after"), sequence=2),
        ]
    )
    handler = Seen({"SLOW": RetryableError("throttled")})
    result = StreamProcessor(handler, quarantine=quarantine, metrics=False).process(event)
    assert handler.identities == [identity(0), identity(1, 0), identity(1, 1)]
    assert result.response == {
        "batchItemFailures": [{"itemIdentifier": sequence(1)}, {"itemIdentifier": sequence(2)}]
    }
    outcomes = [type(cell).__name__ if type(cell) is not HandBack else cell.why for cell in result.outcomes]
    assert outcomes == [
        "KinesisRecord",
        "KplUserRecord",
        HandBack.RETRYABLE,
        HandBack.AFTER_FAILURE,
        HandBack.AFTER_FAILURE,
    ]
    assert quarantine.envelopes == []


def test_aws_kinesis_agg_drops_an_aggregate_without_an_arrival_time_where_shardsafe_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Why shardsafe reads aggregates itself: the library prints an error and yields nothing for the aggregate."""
    from aws_kinesis_agg.deaggregator import deaggregate_records

    record = kpl.aggregated_record([("k", None, tick_bytes("A")), ("k", None, tick_bytes("B"))])
    del record["kinesis"]["approximateArrivalTimestamp"]
    assert deaggregate_records([record]) == []
    assert "Unexpected exception during deaggregation" in capsys.readouterr().err

    handler = Seen()
    result = StreamProcessor(handler, metrics=False, quarantine=MemoryQuarantine()).process(
        {"Records": [record]}
    )
    assert handler.identities == [identity(0, 0), identity(0, 1)]
    assert result.counts().processed == 2


def test_an_index_outside_its_table_is_poison_where_aws_kinesis_agg_drops_the_aggregate(
    capsys: pytest.CaptureFixture[str], quarantine: MemoryQuarantine
) -> None:
    from aws_kinesis_agg.deaggregator import deaggregate_records

    message = kpl.protobuf_message([("k", None, b"{}")])
    message.records[0].partition_key_index = 5
    data = kpl.frame(message.SerializeToString())
    assert deaggregate_records([kpl.raw_record(data)]) == []
    result = StreamProcessor(lambda r: None, metrics=False, quarantine=quarantine).process(
        {"Records": [kpl.raw_record(data)]}
    )
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.payload_bytes()) == (reasons.KPL_UNREADABLE, data)
    assert result.accounting_ok


def test_deaggregate_false_hands_the_aggregate_on_as_one_record(quarantine: MemoryQuarantine) -> None:
    data = kpl.protobuf_aggregate([("k", None, tick_bytes("A"))])
    received: list[bytes] = []
    processor = StreamProcessor(
        lambda r: received.append(r.data),
        decode="bytes",
        deaggregate=False,
        metrics=False,
        quarantine=quarantine,
    )
    result = processor.process({"Records": [kpl.raw_record(data)]})
    assert received == [data] and result.user_records == 0


def test_the_summary_line_and_metrics_count_aggregates_and_user_records_apart(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    metrics = MemoryMetrics()
    event = factories.kinesis_event(
        [
            factories.kinesis_record(factories.tick("A"), sequence=0),
            kpl.aggregated_record([("k", None, tick_bytes(t)) for t in "BCD"], sequence=1),
            kpl.aggregated_record([("k", None, tick_bytes(t)) for t in "EF"], sequence=2),
        ]
    )
    StreamProcessor(lambda r: None, metrics=metrics, quarantine=quarantine)(event, factories.FakeContext())
    [summary] = [line for line in log_lines() if line["event"] == "shardsafe.batch"]
    assert (summary["received"], summary["processed"]) == (6, 6)
    assert (summary["aggregated_records"], summary["user_records"]) == (2, 5)
    [batch] = metrics.batches
    assert (batch["AggregatedRecords"], batch["UserRecords"], batch["RecordsProcessed"]) == (2, 5, 6)


def test_a_metrics_sink_of_one_s_own_is_given_the_kpl_counts(
    quarantine: MemoryQuarantine,
) -> None:
    class OwnSink:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def record_batch(self, **counts: Any) -> None:
            self.calls.append(counts)

    sink = OwnSink()
    StreamProcessor(lambda r: None, metrics=sink, quarantine=quarantine).process(
        {"Records": [kpl.aggregated_record([("k", None, tick_bytes("A"))])]}
    )
    [call] = sink.calls
    assert (call["aggregated_records"], call["user_records"], call["processed"]) == (1, 1, 1)


def test_the_poison_line_names_the_sub_sequence_number(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    event = {"Records": [kpl.aggregated_record([("k", None, tick_bytes("A")), ("p", None, b"\xff")])]}
    StreamProcessor(lambda r: None, metrics=False, quarantine=quarantine)(event, factories.FakeContext())
    [poison] = [line for line in log_lines() if line["event"] == "shardsafe.poison"]
    assert (poison["sub_sequence_number"], poison["partition_key"], poison["reason"]) == (
        1,
        "p",
        reasons.INVALID_UTF8,
    )
    assert base64.b64decode(poison["payload_preview"]) == b"\xff"


def test_the_batch_handler_is_given_user_records_and_bisects_to_the_poison_one(
    quarantine: MemoryQuarantine,
) -> None:
    given: list[list[tuple[str, ...] | None]] = []

    def write(records: list[Record]) -> None:
        given.append([record.identity for record in records])
        if any(record.data["TICKER"] == "BAD" for record in records):
            raise ValueError("cannot write BAD")

    users = [("k", None, tick_bytes(t)) for t in ("A", "BAD", "C")]
    result = StreamProcessor(batch_handler=write, metrics=False, quarantine=quarantine).process(
        {"Records": [kpl.aggregated_record(users)]}
    )
    assert given[0] == [identity(0, 0), identity(0, 1), identity(0, 2)]
    [envelope] = quarantine.envelopes
    assert envelope.record["subSequenceNumber"] == 1 and envelope.payload_bytes() == tick_bytes("BAD")
    assert result.counts().processed == 2


def test_a_user_record_is_a_kinesis_record_to_a_typed_handler() -> None:
    record = kpl.aggregated_record([("k", "7", tick_bytes("A"))])
    seen: list[KinesisRecord] = []
    StreamProcessor(seen.append, metrics=False, quarantine=MemoryQuarantine()).process({"Records": [record]})
    [user] = seen
    assert isinstance(user, KinesisRecord)
    assert (user.sequence_number, user.shard_id, user.partition_key) == (sequence(0), factories.SHARD_ID, "k")
    assert (user.sub_sequence_number, user.explicit_hash_key) == (0, "7")
    assert user.raw["kinesis"]["aggregated"] is True


CLEAN_BATCH_PROBE = """
import sys, json, base64
from shardsafe import StreamProcessor
records = [{"eventSource": "aws:kinesis", "eventID": "shardId-000000000000:1", "eventSourceARN": "arn",
            "kinesis": {"sequenceNumber": str(n), "partitionKey": "k",
                        "data": base64.b64encode(json.dumps({"n": n}).encode()).decode()}} for n in range(10)]
StreamProcessor(lambda r: None, metrics=False)({"Records": records})
before = "hashlib" in sys.modules
records.append(json.loads(sys.argv[1]))
StreamProcessor(lambda r: None, metrics=False)({"Records": records})
print(json.dumps([before, "hashlib" in sys.modules]))
"""


def test_a_batch_without_aggregates_loads_nothing_for_them() -> None:
    """hashlib (the MD5) is loaded with the first aggregate, not before: a cold start does not pay for it."""
    aggregate = kpl.aggregated_record([("k", None, b'{"n": 1}')])
    done = subprocess.run(
        [sys.executable, "-c", CLEAN_BATCH_PROBE, json.dumps(aggregate)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [False, True]


def test_the_template_writes_each_user_record_with_its_sub_sequence_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.functional.test_template import FakeS3, template

    module = template.__wrapped__(monkeypatch)  # type: ignore[attr-defined]
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(module, "_client", s3)
    users = [("k1", None, tick_bytes("A")), ("k2", None, b"poison"), ("k3", None, tick_bytes("C"))]
    event = {
        "Records": [
            factories.kinesis_record(factories.tick("P"), sequence=0),
            kpl.aggregated_record(users, sequence=1),
        ]
    }
    assert module.lambda_handler(event, factories.FakeContext()) == {"batchItemFailures": []}
    [(_, body)] = s3.objects.items()
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [
        (line["sequenceNumber"], line.get("subSequenceNumber"), line["partitionKey"]) for line in lines
    ] == [
        (sequence(0), None, "AMZN"),
        (sequence(1), 0, "k1"),
        (sequence(1), 2, "k3"),
    ]


def test_the_retryable_line_names_the_sub_sequence_number(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    event = {
        "Records": [kpl.aggregated_record([("k", None, tick_bytes("A")), ("k", None, tick_bytes("SLOW"))])]
    }
    StreamProcessor(Seen({"SLOW": RetryableError("later")}), metrics=False, quarantine=quarantine)(
        event, factories.FakeContext()
    )
    [line] = [line for line in log_lines() if line["event"] == "shardsafe.retryable"]
    assert (line["sequence_number"], line["sub_sequence_number"]) == (sequence(0), 1)


def test_a_bug_in_the_expand_stage_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
    quarantine: MemoryQuarantine,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    from shardsafe.core.sources import kpl as kpl_module

    def broken(batch: object) -> object:
        raise RuntimeError("a bug in the expand stage")

    monkeypatch.setattr(kpl_module, "expand", broken)
    event = {
        "Records": [
            factories.kinesis_record(factories.tick("A"), sequence=0),
            kpl.aggregated_record([("k", None, tick_bytes("B"))], sequence=1),
        ]
    }
    result = StreamProcessor(Seen(), metrics=False, quarantine=quarantine).process(
        event, factories.FakeContext()
    )
    assert result.accounting_ok and result.counts().processed == 1
    [envelope] = quarantine.envelopes  # the aggregate, whole, as the plain Kinesis source reads it
    assert envelope.payload_bytes() == base64.b64decode(event["Records"][1]["kinesis"]["data"])
    assert any(
        line["event"] == "shardsafe.internal_error" and "de-aggregation" in line["message"]
        for line in log_lines()
    )
