"""produce(): every record put or accounted for, a manifest line per record, paced by --rate."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from shardsafe.ops.errors import InputError
from shardsafe.ops.produce import GOOD, ProducerRecord, RateLimiter, generate_records, produce, read_jsonl


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_every_record_is_put_and_counted_by_kind(fake_kinesis):
    kinesis = fake_kinesis(shards=2)
    records = list(generate_records(1000, poison=0.07, poison_kinds=("empty", "binary"), seed=4))

    result = produce(kinesis, "ticks", records)

    assert (result.put, result.failed) == (1000, 0)
    assert result.kinds == {GOOD: 930, "empty": 35, "binary": 35}
    assert [len(call) for call in kinesis.put_calls] == [500, 500]
    assert "put 1000 of 1000 records on ticks" in result.summary()
    assert "930 good, 70 poison: 35 binary, 35 empty" in result.summary()


def test_manifest_has_a_line_per_record_put_that_matches_the_stream(fake_kinesis):
    kinesis = fake_kinesis(shards=2)
    manifest = io.StringIO()
    records = list(generate_records(60, poison=0.2, seed=8))

    produce(kinesis, "ticks", records, manifest=manifest)

    lines = [json.loads(line) for line in manifest.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == [r.kind for r in records]
    stored = {r["SequenceNumber"]: r for shard in kinesis.shards.values() for r in shard.records}
    for line, record in zip(lines, records, strict=True):
        in_stream = stored[line["sequenceNumber"]]
        assert (
            line["sha256"]
            == hashlib.sha256(in_stream["Data"]).hexdigest()
            == hashlib.sha256(record.data).hexdigest()
        )
        assert line["partitionKey"] == in_stream["PartitionKey"] == record.partition_key
        assert line["size"] == len(record.data)
        assert line["shardId"] in kinesis.shards


def test_records_that_fail_every_attempt_are_counted_and_left_out_of_the_manifest(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{1}, {0}]
    manifest = io.StringIO()

    result = produce(
        kinesis, "ticks", generate_records(3, seed=1), manifest=manifest, max_attempts=2, sleep=lambda _: None
    )

    assert (result.put, result.failed, result.retries) == (2, 1, 1)
    assert not result.records[1].ok
    assert "ProvisionedThroughputExceededException" in (result.records[1].error or "")
    assert len(manifest.getvalue().splitlines()) == 2
    assert result.summary().endswith("1 retried, 1 failed")


def test_rate_limit_paces_requests_to_the_rate(fake_kinesis):
    kinesis = fake_kinesis()
    clock = FakeClock()

    produce(kinesis, "ticks", generate_records(250, seed=1), rate=100, clock=clock, sleep=clock.sleep)

    assert [len(call) for call in kinesis.put_calls] == [100, 100, 50]
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]


def test_rate_limiter_does_not_wait_when_calls_are_already_slow_enough():
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)

    limiter.acquire(10)
    clock.now += 5
    limiter.acquire(10)

    assert clock.sleeps == []


def test_progress_is_told_of_every_record_as_its_batch_settles(fake_kinesis):
    counts: list[int] = []

    produce(fake_kinesis(), "ticks", generate_records(1200, seed=1), on_progress=counts.append)

    assert counts == [500, 500, 200]


def test_json_lines_input_is_put_byte_for_byte_with_keys_from_a_field(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"TICKER": "AAPL", "PRICE": 1}\n\n{"TICKER":"MSFT","PRICE":2.5}\r\n')

    records = list(read_jsonl(source, key_field="TICKER"))

    assert records == [
        ProducerRecord(b'{"TICKER": "AAPL", "PRICE": 1}', "AAPL"),
        ProducerRecord(b'{"TICKER":"MSFT","PRICE":2.5}', "MSFT"),
    ]


def test_json_lines_from_a_stream_spread_over_keys():
    records = list(read_jsonl(io.BytesIO(b"1\n2\n3\n4\n"), keys=2, seed=1))

    assert [r.data for r in records] == [b"1", b"2", b"3", b"4"]
    assert {r.partition_key for r in records} <= {"pk-0000", "pk-0001"}


def test_invalid_json_line_is_refused_with_its_number(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"ok": 1}\n{"ok": \n')

    with pytest.raises(InputError, match=r"in.jsonl line 2 is not JSON .*fix or remove it"):
        read_jsonl(source)


def test_line_without_the_key_field_is_refused_with_the_fix(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"TICKER": "AAPL"}\n{"PRICE": 1}\n')

    with pytest.raises(InputError, match=r"line 2 has no field 'TICKER' .*drop --key-field"):
        read_jsonl(source, key_field="TICKER")


def test_unreadable_input_is_refused_with_the_path(tmp_path: Path):
    with pytest.raises(InputError, match=r"cannot read --input .*missing.jsonl.*or - for stdin"):
        read_jsonl(tmp_path / "missing.jsonl")
