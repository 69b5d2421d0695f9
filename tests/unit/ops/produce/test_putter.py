"""PutRecords batching within Kinesis's limits, and retry of the entries a call did not take."""

from __future__ import annotations

import random

from shardsafe.ops.produce.putter import MAX_RECORD_BYTES, MAX_REQUEST_BYTES, PutEntry, put_entries


def entries(count: int, *, size: int = 10, keys: int = 4) -> list[PutEntry]:
    return [PutEntry(f"{i:0{size}d}".encode(), f"key-{i % keys}") for i in range(count)]


def test_requests_hold_at_most_500_records(fake_kinesis):
    kinesis = fake_kinesis()

    receipts = put_entries(kinesis, "ticks", entries(1201))

    assert [len(call) for call in kinesis.put_calls] == [500, 500, 201]
    assert all(receipt.ok for receipt in receipts)


def test_requests_hold_at_most_5_mib(fake_kinesis):
    kinesis = fake_kinesis()
    big = [PutEntry(b"x" * (1000 * 1024), f"k{i}") for i in range(12)]

    put_entries(kinesis, "ticks", big)

    sizes = [sum(len(e["Data"]) + len(e["PartitionKey"]) for e in call) for call in kinesis.put_calls]
    assert all(size <= MAX_REQUEST_BYTES for size in sizes)
    assert sum(len(call) for call in kinesis.put_calls) == 12
    assert len(kinesis.put_calls) == 3


def test_failed_entries_are_retried_with_growing_backoff_until_they_go_in(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{0, 2}, {0}, {0}]
    sleeps: list[float] = []

    receipts = put_entries(kinesis, "ticks", entries(4), sleep=sleeps.append, rng=random.Random(1))

    assert all(receipt.ok for receipt in receipts)
    assert [r.attempts for r in receipts] == [4, 1, 2, 1]
    assert sorted(data for _, data in kinesis.data()) == sorted(e.data for e in entries(4)), "each once"
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[2], "the backoff grows"


def test_entries_that_fail_every_attempt_are_reported_with_the_error(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{1}, {0}, {0}]

    receipts = put_entries(kinesis, "ticks", entries(3), max_attempts=3, sleep=lambda _: None)

    assert [r.ok for r in receipts] == [True, False, True]
    assert receipts[1].error_code == "ProvisionedThroughputExceededException"
    assert receipts[1].attempts == 3


def test_a_record_over_1_mib_fails_without_a_call(fake_kinesis):
    kinesis = fake_kinesis()

    receipts = put_entries(kinesis, "ticks", [PutEntry(b"x" * MAX_RECORD_BYTES, "k"), PutEntry(b"ok", "k")])

    assert receipts[0].error_code == "InvalidRecord"
    assert "1 MiB" in (receipts[0].error_message or "")
    assert receipts[1].ok
    assert [len(call) for call in kinesis.put_calls] == [1]


def test_receipts_are_reported_as_each_entry_settles(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{0}]
    seen: list[int] = []

    put_entries(
        kinesis, "ticks", entries(3), on_receipt=lambda index, _: seen.append(index), sleep=lambda _: None
    )

    assert sorted(seen) == [0, 1, 2]
    assert seen[-1] == 0, "the retried entry settles last"


def test_keeping_key_order_sends_one_record_per_key_a_request_and_survives_retries(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{0}, {1}]
    records = entries(12, keys=3)

    receipts = put_entries(kinesis, "ticks", records, keep_key_order=True, sleep=lambda _: None)

    assert all(receipt.ok for receipt in receipts)
    for call in kinesis.put_calls:
        keys = [entry["PartitionKey"] for entry in call]
        assert len(keys) == len(set(keys)), "one record per key per request"
    for key in {e.partition_key for e in records}:
        stored = [data for stored_key, data in kinesis.data() if stored_key == key]
        assert stored == [e.data for e in records if e.partition_key == key], f"order of {key} kept"


def test_keeping_key_order_fails_the_records_behind_one_that_could_not_be_put(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.fail_entries = [{0}, {0}]
    records = [PutEntry(b"a1", "a"), PutEntry(b"b1", "b"), PutEntry(b"a2", "a"), PutEntry(b"b2", "b")]

    receipts = put_entries(
        kinesis, "ticks", records, keep_key_order=True, max_attempts=2, sleep=lambda _: None
    )

    assert [r.ok for r in receipts] == [False, True, False, True]
    assert receipts[2].error_code == "NotAttempted"
    assert [data for _, data in kinesis.data()] == [b"b1", b"b2"]
