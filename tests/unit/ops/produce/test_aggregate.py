"""produce(aggregate=N): KPL aggregates of one shard's records, each user record in the manifest."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest

from shardsafe.core.sources.kpl import deaggregate, is_aggregate
from shardsafe.ops.errors import InputError
from shardsafe.ops.produce import GOOD, ProducerRecord, generate_records, produce
from shardsafe.ops.produce.aggregate import Aggregator, ShardMap, aggregate_records, hash_key
from shardsafe.ops.produce.kinds import OVERSIZED_BYTES


def test_aggregates_hold_only_records_of_their_shard_and_land_on_it(fake_kinesis):
    kinesis = fake_kinesis(shards=4)
    records = list(generate_records(400, keys=32, poison=0.1, seed=3))
    manifest = io.StringIO()

    result = produce(kinesis, "ticks", records, aggregate=10, manifest=manifest)

    assert (result.put, result.failed, result.user_records) == (400, 0, 400)
    shards = ShardMap.of(kinesis, "ticks")
    aggregates = 0
    for shard_id, shard in kinesis.shards.items():
        for stored in shard.records:
            assert is_aggregate(stored["Data"])
            users = deaggregate(stored["Data"])
            assert 1 <= len(users) <= 10
            assert {shards.shard_of(hash_key(key)) for key, _, _ in users} == {shard_id}
            assert kinesis.explicit_hash_keys[stored["SequenceNumber"]] == str(hash_key(users[0][0]))
            aggregates += 1
    assert result.aggregates == aggregates == result.kinesis_records
    assert (
        f"as {aggregates} Kinesis records (400 user records in {aggregates} KPL aggregates)"
        in result.summary()
    )


def test_the_manifest_names_each_user_record_by_its_aggregate_and_sub_sequence_number(fake_kinesis):
    kinesis = fake_kinesis(shards=2)
    records = list(generate_records(120, poison=0.2, seed=9))
    manifest = io.StringIO()

    produce(kinesis, "ticks", records, aggregate=7, aggregate_share=0.5, manifest=manifest)

    stored = {r["SequenceNumber"]: r["Data"] for shard in kinesis.shards.values() for r in shard.records}
    lines = [json.loads(line) for line in manifest.getvalue().splitlines()]
    assert sorted(line["sha256"] for line in lines) == sorted(
        __import__("hashlib").sha256(r.data).hexdigest() for r in records
    )
    by_kind = Counter()
    for line in lines:
        data = stored[line["sequenceNumber"]]
        if "subSequenceNumber" in line:
            key, _, user_data = deaggregate(data)[line["subSequenceNumber"]]
            assert (key, __import__("hashlib").sha256(user_data).hexdigest()) == (
                line["partitionKey"],
                line["sha256"],
            )
            by_kind[line["kind"] != GOOD] += 1
        else:
            assert not is_aggregate(data) and len(data) == line["size"]
    assert sum(1 for line in lines if "subSequenceNumber" in line) == 60
    assert by_kind[True] > 0, "poison went inside aggregates"


def test_a_record_that_would_overflow_an_aggregate_starts_the_next_one():
    big = [ProducerRecord(b"x" * OVERSIZED_BYTES, "k") for _ in range(2)]
    small = [ProducerRecord(b"{}", "k") for _ in range(3)]
    records = [small[0], big[0], big[1], small[1], small[2]]
    aggregates = list(aggregate_records(records, per_aggregate=10, shards=ShardMap.single()))
    assert [len(a.members) for a in aggregates] == [2, 3]
    assert all(len(a.data) + len(a.partition_key) <= 1024 * 1024 for a in aggregates)
    assert [data for a in aggregates for _, _, data in deaggregate(a.data)] == [r.data for r in records]


def test_a_partition_key_s_records_keep_their_order_across_aggregates():
    records = [ProducerRecord(str(n).encode(), f"k{n % 3}") for n in range(50)]
    aggregates = list(aggregate_records(records, per_aggregate=4, shards=ShardMap.single()))
    unpacked = [data for a in aggregates for _, _, data in deaggregate(a.data)]
    for key in ("k0", "k1", "k2"):
        mine = [r.data for r in records if r.partition_key == key]
        assert [d for d in unpacked if d in mine] == mine


def test_aggregate_must_be_at_least_one():
    with pytest.raises(InputError, match="1 or more"):
        Aggregator(0, ShardMap.single())


def test_a_record_asked_to_be_alone_is_put_on_its_own_among_aggregates(fake_kinesis):
    kinesis = fake_kinesis(shards=1)
    records = list(generate_records(30, seed=2))
    records.insert(15, ProducerRecord(b'{"alone": true}', "crash", kind="crash", alone=True))

    result = produce(kinesis, "ticks", records, aggregate=10)

    [crash] = [record for record in result.records if record.kind == "crash"]
    assert crash.sub_sequence_number is None
    assert (b'{"alone": true}') in [data for _, data in kinesis.data()]
    assert result.user_records == 30
