"""Reading a batch back from the stream by sequence numbers: paging, expiry, trimming."""

from __future__ import annotations

import pytest

from shardsafe.ops.redrive.stream_reader import read_sequence_range
from tests.unit.ops.fakes import FIRST_SEQUENCE, FakeKinesis

SHARD = "shardId-000000000000"
ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ticks"


def filled(kinesis: FakeKinesis, count: int) -> list[str]:
    return [kinesis.add(f"record-{i}".encode(), key=f"k{i % 3}") for i in range(count)]


def test_reads_exactly_the_records_between_first_and_last(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 10)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[3], sequences[6])

    assert [r.sequence_number for r in batch.records] == sequences[3:7]
    assert [r.data for r in batch.records] == [f"record-{i}".encode() for i in range(3, 7)]
    assert [r.partition_key for r in batch.records] == ["k0", "k1", "k2", "k0"]
    assert batch.complete


def test_batch_holding_the_first_and_last_record_of_the_shard_is_read_whole(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 5)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[-1])

    assert [r.sequence_number for r in batch.records] == sequences
    assert batch.complete


def test_single_record_batch_is_read_at_its_sequence_number(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 3)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[1], sequences[1])

    assert [r.data for r in batch.records] == [b"record-1"]
    assert kinesis.iterator_requests[0] == {
        "type": "AT_SEQUENCE_NUMBER",
        "sequence": sequences[1],
        "shard": SHARD,
    }


def test_sequence_numbers_are_compared_as_integers_not_strings(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 12)
    assert len(sequences[0]) < len(sequences[-1]), "the fake must cross a digit boundary"
    assert sequences[-1] < sequences[0], "as strings the last sorts first"

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[2], sequences[10])

    assert [r.sequence_number for r in batch.records] == sequences[2:11]


def test_batch_spanning_several_get_records_pages_is_read_across_all_of_them(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.page_cap = 3
    sequences = filled(kinesis, 20)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[1], sequences[15])

    assert [r.sequence_number for r in batch.records] == sequences[1:16]
    assert batch.pages == 5
    assert batch.complete


def test_empty_pages_that_are_behind_the_tip_are_paged_through(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.page_cap = 4
    kinesis.empty_pages = 2
    sequences = filled(kinesis, 10)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[9])

    assert [r.sequence_number for r in batch.records] == sequences
    assert batch.pages > 3, "the empty pages were read too"


def test_reading_stops_at_the_tip_and_reports_what_never_arrived(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 4)
    beyond = str(int(sequences[-1]) + 10**45)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[1], beyond)

    assert [r.sequence_number for r in batch.records] == sequences[1:]
    assert [(m.reason, m.first, m.last) for m in batch.missing] == [
        ("end_not_reached", str(int(sequences[-1]) + 1), beyond)
    ]


def test_without_millis_behind_latest_idle_pages_end_the_read(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.omit_millis_behind = True
    sequences = filled(kinesis, 2)

    batch = read_sequence_range(
        kinesis, ARN, SHARD, sequences[0], str(int(sequences[1]) + 5), max_idle_pages=3
    )

    assert len(batch.records) == 2
    assert batch.missing[0].reason == "end_not_reached"
    assert kinesis.get_records_calls == 4


def test_closed_shard_ending_before_the_last_sequence_number_reports_the_rest(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 3)
    kinesis.shards[SHARD].closed = True
    beyond = str(int(sequences[-1]) + 10**45)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], beyond)

    assert len(batch.records) == 3
    assert [m.reason for m in batch.missing] == ["shard_closed"]


def test_expired_iterator_is_reopened_after_the_last_record_seen(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.page_cap = 2
    kinesis.expire_calls = {3}
    sequences = filled(kinesis, 8)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[7])

    assert [r.sequence_number for r in batch.records] == sequences, "nothing lost, nothing twice"
    assert batch.reopened == 1
    assert kinesis.iterator_requests[1] == {
        "type": "AFTER_SEQUENCE_NUMBER",
        "sequence": sequences[3],
        "shard": SHARD,
    }


def test_iterator_expiring_before_any_record_is_reopened_at_the_start(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.expire_calls = {1}
    sequences = filled(kinesis, 3)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[2])

    assert len(batch.records) == 3
    assert [r["type"] for r in kinesis.iterator_requests] == ["AT_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"]


def test_iterator_expiring_again_and_again_gives_up_with_the_error(fake_kinesis):
    kinesis = fake_kinesis()
    kinesis.expire_calls = set(range(1, 100))
    sequences = filled(kinesis, 3)

    with pytest.raises(Exception, match="ExpiredIterator"):
        read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[2], max_reopens=3)
    assert kinesis.get_records_calls == 4


@pytest.mark.parametrize("trimmed_error", ["InvalidArgumentException", "ResourceNotFoundException"])
def test_trimmed_first_records_are_reported_and_the_rest_recovered(fake_kinesis, trimmed_error):
    kinesis = fake_kinesis(trimmed_error=trimmed_error)
    sequences = filled(kinesis, 6)
    kinesis.trim(SHARD, below=sequences[2])

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[4])

    assert [r.sequence_number for r in batch.records] == sequences[2:5]
    assert [(m.reason, m.first, m.last) for m in batch.missing] == [
        ("trimmed", sequences[0], str(int(sequences[2]) - 1))
    ]
    assert kinesis.iterator_requests[-1]["type"] == "TRIM_HORIZON"


def test_batch_trimmed_entirely_is_reported_whole(fake_kinesis):
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 6)
    kinesis.trim(SHARD, below=sequences[4])

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[2])

    assert batch.records == []
    assert [(m.reason, m.first, m.last) for m in batch.missing] == [("trimmed", sequences[0], sequences[2])]


def test_first_record_returned_after_the_start_counts_as_trimmed(fake_kinesis):
    # AWS may open AT_SEQUENCE_NUMBER on a trimmed position and start at the oldest record left.
    kinesis = fake_kinesis()
    sequences = filled(kinesis, 4)
    kinesis.shards[SHARD].records.pop(0)

    batch = read_sequence_range(kinesis, ARN, SHARD, sequences[0], sequences[2])

    assert [r.sequence_number for r in batch.records] == sequences[1:3]
    assert [m.reason for m in batch.missing] == ["trimmed"]


def test_unknown_shard_is_reported_whole(fake_kinesis):
    kinesis = fake_kinesis()
    first = str(FIRST_SEQUENCE)

    batch = read_sequence_range(kinesis, ARN, "shardId-000000000009", first, first)

    assert [(m.reason, m.first, m.last) for m in batch.missing] == [("shard_not_found", first, first)]


def test_first_after_last_is_refused(fake_kinesis):
    with pytest.raises(ValueError, match="after last"):
        read_sequence_range(fake_kinesis(), ARN, SHARD, "20", "10")
