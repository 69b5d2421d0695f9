"""Put test load on a stream: batched PutRecords, retries, rate limit, manifest, counts.

from shardsafe.ops.produce import generate_records, produce
result = produce(kinesis, "ticks", generate_records(1000, poison=0.05, seed=1))
print(result.summary())
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.aggregate import Aggregate, Aggregator, ShardMap
from shardsafe.ops.produce.generate import ProducerRecord
from shardsafe.ops.produce.kinds import GOOD
from shardsafe.ops.produce.putter import MAX_RECORDS_PER_REQUEST, PutEntry, put_entries

__all__ = ["ProduceResult", "ProducedRecord", "RateLimiter", "produce"]


@dataclass(frozen=True)
class ProducedRecord:
    """One record's fate; ``manifest_line()`` is what `--manifest` writes for it."""

    index: int
    kind: str
    partition_key: str
    size: int
    sha256: str
    shard_id: str | None
    sequence_number: str | None
    error: str | None = None
    #: A user record of a KPL aggregate: its place in it (the Kinesis record's sequence number is the
    #: aggregate's); None for a record put on its own.
    sub_sequence_number: int | None = None

    @property
    def ok(self) -> bool:
        return self.sequence_number is not None

    def manifest_line(self) -> str:
        line: dict[str, Any] = {
            "index": self.index,
            "kind": self.kind,
            "partitionKey": self.partition_key,
            "shardId": self.shard_id,
            "sequenceNumber": self.sequence_number,
            "sha256": self.sha256,
            "size": self.size,
        }
        if self.sub_sequence_number is not None:
            line["subSequenceNumber"] = self.sub_sequence_number
        return json.dumps(line)

    def failure_line(self) -> str:
        """What the command prints for a record that could not be put."""
        return f"failed: record {self.index} ({self.kind}, key {self.partition_key}): {self.error}"


@dataclass
class ProduceResult:
    """Every record offered, in order, with where it landed or why it did not."""

    stream: str
    records: list[ProducedRecord] = field(default_factory=list)
    retries: int = 0
    elapsed_s: float = 0.0
    #: Kinesis records put that were KPL aggregates, and how many user records those held (in ``records``).
    aggregates: int = 0

    @property
    def put(self) -> int:
        return sum(1 for record in self.records if record.ok)

    @property
    def failed(self) -> int:
        return len(self.records) - self.put

    @property
    def user_records(self) -> int:
        """Records put inside KPL aggregates."""
        return sum(1 for record in self.records if record.ok and record.sub_sequence_number is not None)

    @property
    def kinesis_records(self) -> int:
        """Kinesis records put: the records put on their own, and the aggregates."""
        return self.put - self.user_records + self.aggregates

    @property
    def kinds(self) -> Counter[str]:
        """Records put, by kind ("good" or a poison kind)."""
        return Counter(record.kind for record in self.records if record.ok)

    def summary(self) -> str:
        kinds = self.kinds
        good = kinds.pop(GOOD, 0)
        poison = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        mix = f"{good} good, {sum(kinds.values())} poison" + (f": {poison}" if poison else "")
        packed = (
            f" as {self.kinesis_records} Kinesis records ({self.user_records} user records in "
            f"{self.aggregates} KPL aggregates)"
            if self.aggregates
            else ""
        )
        return (
            f"put {self.put} of {len(self.records)} records on {self.stream}{packed} in {self.elapsed_s:.1f} s "
            f"({mix}); {self.retries} retried, {self.failed} failed"
        )

    def to_json(self) -> dict[str, Any]:
        """The summary as ``--output json`` prints it; records that could not be put are listed."""
        return {
            "command": "produce",
            "stream": self.stream,
            "offered": len(self.records),
            "put": self.put,
            "kinesisRecords": self.kinesis_records,
            "aggregates": self.aggregates,
            "userRecords": self.user_records,
            "failed": self.failed,
            "retries": self.retries,
            "elapsedSeconds": round(self.elapsed_s, 3),
            "kinds": dict(sorted(self.kinds.items())),
            "failures": [
                {"index": r.index, "kind": r.kind, "partitionKey": r.partition_key, "error": r.error}
                for r in self.records
                if not r.ok
            ],
        }


class RateLimiter:
    """Paces batches so that on average at most ``per_second`` records go out each second."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise InputError(f"rate {per_second} must be above 0 records per second")
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._next_at: float | None = None

    def acquire(self, count: int) -> None:
        """Wait until ``count`` more records may go out."""
        now = self._clock()
        if self._next_at is not None and self._next_at > now:
            self._sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + count / self.per_second


def produce(
    client: Any,
    stream: str,
    records: Iterable[ProducerRecord],
    *,
    rate: float | None = None,
    manifest: TextIO | None = None,
    on_progress: Callable[[int], None] | None = None,
    max_attempts: int = 8,
    aggregate: int = 0,
    aggregate_share: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProduceResult:
    """Put ``records`` on ``stream`` (a name or an ARN) with PutRecords, retrying failed entries.

    ``rate`` caps Kinesis records per second; ``manifest`` receives one JSON line per record put (a user
    record of an aggregate with its ``subSequenceNumber``); ``on_progress(count)`` is called as each
    PutRecords batch is settled, with the records it held. ``aggregate``: pack ``aggregate_share`` of the
    records (spread evenly) into KPL aggregates of up to that many user records
    (`shardsafe.ops.produce.aggregate`); 0 puts every record on its own.
    """
    if not 0.0 <= aggregate_share <= 1.0:
        raise InputError(f"aggregate share {aggregate_share} is outside 0..1")
    started = clock()
    limiter = RateLimiter(rate, clock=clock, sleep=sleep) if rate is not None else None
    chunk_size = MAX_RECORDS_PER_REQUEST if rate is None else max(1, min(MAX_RECORDS_PER_REQUEST, int(rate)))
    result = ProduceResult(stream)
    units: Iterable[_Unit] = (
        _units(records, Aggregator(aggregate, ShardMap.of(client, stream)), aggregate_share)
        if aggregate
        else ((PutEntry(record.data, record.partition_key), (record,), False) for record in records)
    )
    for chunk in itertools.batched(units, chunk_size):
        if limiter is not None:
            limiter.acquire(len(chunk))
        receipts = put_entries(
            client, stream, [entry for entry, _, _ in chunk], max_attempts=max_attempts, sleep=sleep
        )
        for (_, members, aggregated), receipt in zip(chunk, receipts, strict=True):
            result.retries += max(receipt.attempts - 1, 0)
            result.aggregates += 1 if aggregated and receipt.ok else 0
            for sub, record in enumerate(members):
                produced = ProducedRecord(
                    index=len(result.records),
                    kind=record.kind,
                    partition_key=record.partition_key,
                    size=len(record.data),
                    sha256=hashlib.sha256(record.data).hexdigest(),
                    shard_id=receipt.shard_id,
                    sequence_number=receipt.sequence_number,
                    error=None if receipt.ok else f"{receipt.error_code}: {receipt.error_message}",
                    sub_sequence_number=sub if aggregated else None,
                )
                result.records.append(produced)
                if manifest is not None and produced.ok:
                    manifest.write(produced.manifest_line() + "\n")
        if manifest is not None:
            manifest.flush()
        if on_progress is not None:
            on_progress(sum(len(members) for _, members, _ in chunk))
    result.elapsed_s = clock() - started
    return result


# One Kinesis record to put: the entry, the producer records it holds, and whether it is an aggregate.
_Unit = tuple[PutEntry, tuple[ProducerRecord, ...], bool]


def _units(records: Iterable[ProducerRecord], aggregator: Aggregator, share: float) -> Iterator[_Unit]:
    """``share`` of the records (spread evenly, as poison is) packed into aggregates, the others on their own."""
    for index, record in enumerate(records):
        if int((index + 1) * share) > int(index * share) and not record.alone:
            for done in aggregator.add(record):
                yield _aggregate_unit(done)
        else:
            yield PutEntry(record.data, record.partition_key), (record,), False
    for done in aggregator.flush():
        yield _aggregate_unit(done)


def _aggregate_unit(aggregate: Aggregate) -> _Unit:
    entry = PutEntry(aggregate.data, aggregate.partition_key, aggregate.explicit_hash_key)
    return entry, aggregate.members, True
