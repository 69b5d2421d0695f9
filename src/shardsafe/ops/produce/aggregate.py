"""KPL aggregation for the producer: user records packed into Kinesis records as the KPL writes them.

Written from AWS's published format
(https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md): the magic
``F3 89 9A C2``, a protobuf ``AggregatedRecord`` (partition and explicit hash key tables, then one
``Record`` per user record), and the MD5 of the protobuf. It is the second writer the reader
(`shardsafe.core.sources.kpl`) is tested against, beside ``aws-kinesis-agg``'s own aggregator.

As the KPL does (and AWS's note on aggregation data loss asks,
https://github.com/awslabs/kinesis-aggregation/blob/master/potential_data_loss.md), user records are
only packed together when their hash keys fall in the same shard, and the aggregate is put with the
first one's partition key and, as explicit hash key, its hash: it lands on the shard all of its user
records belong to.

    shards = ShardMap.of(kinesis, "ticks")
    for aggregate in aggregate_records(records, per_aggregate=10, shards=shards):
        kinesis.put_record(StreamName="ticks", Data=aggregate.data, PartitionKey=aggregate.partition_key,
                           ExplicitHashKey=aggregate.explicit_hash_key)
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shardsafe.core.sources.kpl import MAGIC
from shardsafe.ops.aws import stream_ref
from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.generate import ProducerRecord
from shardsafe.ops.produce.putter import MAX_RECORD_BYTES

__all__ = ["Aggregate", "Aggregator", "ShardMap", "aggregate_records", "encode_aggregate", "hash_key"]

HASH_KEY_LIMIT = 1 << 128


def hash_key(partition_key: str) -> int:
    """The 128-bit hash Kinesis maps a partition key to a shard by: the MD5 of its UTF-8, big-endian."""
    return int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest(), "big")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_aggregate(user_records: Sequence[tuple[str, str | None, bytes]]) -> bytes:
    """One aggregated record's bytes from ``(partition_key, explicit_hash_key or None, data)`` triples.

    Keys shared by several user records are written once in their table, as the KPL does.
    """
    if not user_records:
        raise InputError("an aggregate needs at least one user record")
    partition_keys: dict[str, int] = {}
    hash_keys: dict[str, int] = {}
    records = bytearray()
    for partition_key, explicit_hash_key, data in user_records:
        key_index = partition_keys.setdefault(partition_key, len(partition_keys))
        record = _varint(1 << 3 | 0) + _varint(key_index)
        if explicit_hash_key is not None:
            record += _varint(2 << 3 | 0) + _varint(hash_keys.setdefault(explicit_hash_key, len(hash_keys)))
        record += _field(3, data)
        records += _field(3, record)
    message = b"".join(_field(1, key.encode()) for key in partition_keys)
    message += b"".join(_field(2, key.encode()) for key in hash_keys)
    message += bytes(records)
    return MAGIC + message + hashlib.md5(message, usedforsecurity=False).digest()


@dataclass(frozen=True)
class Aggregate:
    """An aggregated Kinesis record to put, and the producer records it holds, in sub-sequence order."""

    data: bytes
    partition_key: str
    explicit_hash_key: str
    members: tuple[ProducerRecord, ...]


@dataclass(frozen=True)
class ShardMap:
    """The open shards of a stream by the start of their hash key range, to tell which shard a key goes to."""

    starts: tuple[int, ...]
    shard_ids: tuple[str, ...]

    @classmethod
    def of(cls, client: Any, stream: str) -> ShardMap:
        """The stream's open shards (ListShards; a closed shard takes no new records)."""
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = stream_ref(stream)
        while True:
            page = client.list_shards(**kwargs)
            shards += page.get("Shards", [])
            token = page.get("NextToken")
            if not token:
                break
            kwargs = {"NextToken": token}
        open_shards = sorted(
            (int(shard["HashKeyRange"]["StartingHashKey"]), str(shard["ShardId"]))
            for shard in shards
            if not shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
        )
        if not open_shards:
            raise InputError(f"stream {stream} has no open shard to put aggregates on")
        return cls(tuple(start for start, _ in open_shards), tuple(shard for _, shard in open_shards))

    @classmethod
    def single(cls) -> ShardMap:
        """One shard for every key: pack records without regard to shards."""
        return cls((0,), ("any",))

    def shard_of(self, hash_value: int) -> str:
        return self.shard_ids[bisect.bisect_right(self.starts, hash_value) - 1]


# The protobuf framing a user record adds at most: its Record's tag and length, the index fields, the
# data's tag and length, and its keys in the tables.
_RECORD_OVERHEAD = 32


class Aggregator:
    """Packs user records into aggregates of up to ``per_aggregate`` each, only records of one shard
    together, each aggregate (with its partition key) within ``max_bytes``.

    ``add`` returns the aggregates a record fills (or pushes out, when it would not fit), ``flush`` the
    partial ones; the records of a partition key keep their order.
    """

    def __init__(self, per_aggregate: int, shards: ShardMap, max_bytes: int = MAX_RECORD_BYTES) -> None:
        if per_aggregate < 1:
            raise InputError(f"--aggregate {per_aggregate}: give the user records per aggregate, 1 or more")
        self.per_aggregate = per_aggregate
        self.shards = shards
        self.room = max_bytes - len(MAGIC) - 16
        self._open: dict[str, list[ProducerRecord]] = {}
        self._sizes: dict[str, int] = {}

    def add(self, record: ProducerRecord) -> list[Aggregate]:
        done = []
        shard = self.shards.shard_of(hash_key(record.partition_key))
        size = len(record.data) + 2 * len(record.partition_key.encode()) + _RECORD_OVERHEAD
        members = self._open.get(shard)
        if members and self._sizes[shard] + size > self.room:
            done.append(_aggregate(members))
            members = None
        if not members:
            members = self._open[shard] = []
            self._sizes[shard] = 0
        members.append(record)
        self._sizes[shard] += size
        if len(members) >= self.per_aggregate:
            done.append(_aggregate(members))
            del self._open[shard]
        return done

    def flush(self) -> list[Aggregate]:
        done = [_aggregate(members) for members in self._open.values() if members]
        self._open.clear()
        return done


def aggregate_records(
    records: Iterable[ProducerRecord],
    *,
    per_aggregate: int,
    shards: ShardMap,
    max_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Aggregate]:
    """``records`` packed by an :class:`Aggregator`, aggregates in the order they fill, partial ones last."""
    aggregator = Aggregator(per_aggregate, shards, max_bytes)
    for record in records:
        yield from aggregator.add(record)
    yield from aggregator.flush()


def _aggregate(members: list[ProducerRecord]) -> Aggregate:
    first = members[0]
    return Aggregate(
        data=encode_aggregate([(record.partition_key, None, record.data) for record in members]),
        partition_key=first.partition_key,
        explicit_hash_key=str(hash_key(first.partition_key)),
        members=tuple(members),
    )
