"""Read back exactly the records between two sequence numbers of a shard.

Sequence numbers are decimal strings of up to 128 bits, so they are compared as integers.
Reading opens an ``AT_SEQUENCE_NUMBER`` iterator at the first and pages ``GetRecords`` (empty
pages included) until it passes the last. An iterator that expires on the way is reopened
``AFTER_SEQUENCE_NUMBER`` the last record seen. Records the stream no longer has (trimmed
after its retention) are reported as missing ranges, never skipped silently.

The same reading serves DynamoDB Streams (``api=DYNAMODB``, a ``dynamodbstreams`` client): its
GetShardIterator takes ``StreamArn`` and ``SequenceNumber``, its records carry the change in
``dynamodb``, and its GetRecords has no ``MillisBehindLatest``
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html).
A DynamoDB record's data is the record as Lambda delivers it (`lambda_event_record`), compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shardsafe.ops.aws import error_code, stream_ref
from shardsafe.ops.failures import StreamRecord

__all__ = [
    "DYNAMODB",
    "KINESIS",
    "BatchRead",
    "MissingRange",
    "StreamApi",
    "StreamRecord",
    "lambda_event_record",
    "read_sequence_range",
]


@dataclass(frozen=True)
class StreamApi:
    """How one stream service names a position and a record: the only differences reading has."""

    name: str
    start_key: str  # GetShardIterator's sequence number parameter
    # GetShardIterator's answers when a position is gone: Kinesis says InvalidArgument for a trimmed
    # sequence number, LocalStack's Kinesis ResourceNotFound; DynamoDB Streams TrimmedDataAccess.
    position_gone: frozenset[str]

    def stream_args(self, stream: str) -> dict[str, str]:
        return stream_ref(stream) if self.name == "kinesis" else {"StreamArn": stream}

    def sequence_number(self, record: dict[str, Any]) -> str:
        return str(
            record["SequenceNumber"] if self.name == "kinesis" else record["dynamodb"]["SequenceNumber"]
        )

    def stream_record(self, record: dict[str, Any], stream: str) -> StreamRecord:
        if self.name == "kinesis":
            return StreamRecord(
                data=bytes(record["Data"]),
                partition_key=record["PartitionKey"],
                sequence_number=record["SequenceNumber"],
                arrival=record.get("ApproximateArrivalTimestamp"),
            )
        event = lambda_event_record(record, stream)
        return StreamRecord(
            data=json.dumps(event, separators=(",", ":")).encode(),
            partition_key="",
            sequence_number=str(record["dynamodb"]["SequenceNumber"]),
            arrival=record["dynamodb"].get("ApproximateCreationDateTime"),
        )


KINESIS = StreamApi(
    "kinesis", "StartingSequenceNumber", frozenset({"InvalidArgumentException", "ResourceNotFoundException"})
)
DYNAMODB = StreamApi(
    "dynamodb", "SequenceNumber", frozenset({"TrimmedDataAccessException", "ResourceNotFoundException"})
)


def lambda_event_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record as Lambda delivers it: with ``eventSourceARN``, and
    ``ApproximateCreationDateTime`` in epoch seconds (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        seconds = created.timestamp()
        change["ApproximateCreationDateTime"] = int(seconds) if seconds == int(seconds) else seconds
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


@dataclass(frozen=True)
class MissingRange:
    """Sequence numbers ``first``..``last`` (inclusive) of a shard whose records could not be read."""

    shard_id: str
    first: str
    last: str
    reason: str  # "trimmed", "end_not_reached", "shard_closed", "shard_not_found"
    detail: str


@dataclass
class BatchRead:
    """What `read_sequence_range` found: the records in order, and what it could not find."""

    records: list[StreamRecord] = field(default_factory=list)
    missing: list[MissingRange] = field(default_factory=list)
    pages: int = 0
    reopened: int = 0

    @property
    def complete(self) -> bool:
        return not self.missing


class _ShardGone(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def read_sequence_range(
    client: Any,
    stream: str,
    shard_id: str,
    first: str,
    last: str,
    *,
    page_limit: int = 1000,
    max_reopens: int = 10,
    max_idle_pages: int = 20,
    api: StreamApi = KINESIS,
) -> BatchRead:
    """The records of ``shard_id`` whose sequence numbers lie in ``first``..``last`` (inclusive).

    Stops at the first record past ``last``, at the end of a closed shard, or at the tip of an
    open one (an empty page with ``MillisBehindLatest == 0``, or ``max_idle_pages`` empty pages
    in a row where that field is absent); what was not found is in ``missing``.

        batch = read_sequence_range(kinesis, stream_arn, "shardId-000000000000", start, end)
    """
    low, high = int(first), int(last)
    if low > high:
        raise ValueError(f"first sequence number {first} is after last {last}")
    result = BatchRead()
    reader = _Reader(client, stream, shard_id, first, api)
    try:
        iterator, _ = reader.open(after=None)
    except _ShardGone as gone:
        result.missing.append(MissingRange(shard_id, first, last, "shard_not_found", gone.detail))
        return result

    last_seen: int | None = None
    # Where the next record must start for no gap: checked on the first record after an open
    # that may have skipped some (the first open, and reopens that fell back to TRIM_HORIZON).
    expect_from: int | None = low
    idle_pages = 0
    while True:
        try:
            page = client.get_records(ShardIterator=iterator, Limit=page_limit)
        except Exception as exc:
            if error_code(exc) != "ExpiredIteratorException" or result.reopened >= max_reopens:
                raise
            result.reopened += 1
            try:
                iterator, fell_back = reader.open(after=last_seen)
            except _ShardGone as gone:
                result.missing.append(_rest(shard_id, last_seen, first, last, "shard_not_found", gone.detail))
                return result
            if fell_back:
                expect_from = low if last_seen is None else last_seen + 1
            continue
        result.pages += 1
        passed_last = False
        for record in page.get("Records", []):
            number = int(api.sequence_number(record))
            if number < low or (last_seen is not None and number <= last_seen):
                continue  # only after falling back to TRIM_HORIZON
            if number > high:
                passed_last = True
                break
            if expect_from is not None and number > expect_from:
                result.missing.append(
                    MissingRange(
                        shard_id,
                        str(expect_from),
                        str(number - 1),
                        "trimmed",
                        f"the oldest record the shard still has from {expect_from} on is {number}",
                    )
                )
            expect_from = None
            result.records.append(api.stream_record(record, stream))
            last_seen = number
        if passed_last:
            if expect_from is not None:
                result.missing.append(
                    _rest(
                        shard_id,
                        last_seen,
                        first,
                        last,
                        "trimmed",
                        "the oldest record the shard still has is past the batch",
                    )
                )
            return result
        if last_seen == high:
            return result
        next_iterator = page.get("NextShardIterator")
        if next_iterator is None:
            result.missing.append(
                _rest(
                    shard_id, last_seen, first, last, "shard_closed", "the shard ended before the batch did"
                )
            )
            return result
        idle_pages = 0 if page.get("Records") else idle_pages + 1
        behind = page.get("MillisBehindLatest")
        if not page.get("Records") and (behind == 0 or (behind is None and idle_pages >= max_idle_pages)):
            result.missing.append(
                _rest(
                    shard_id, last_seen, first, last, "end_not_reached", "reached the tip of the shard first"
                )
            )
            return result
        iterator = next_iterator


class _Reader:
    """Opens shard iterators, falling back to TRIM_HORIZON when the start position is gone."""

    def __init__(self, client: Any, stream: str, shard_id: str, first: str, api: StreamApi) -> None:
        self.api = api
        self.client = client
        self.stream = stream
        self.shard_id = shard_id
        self.first = first

    def open(self, *, after: int | None) -> tuple[str, bool]:
        """An iterator at the start (or just after ``after``), and whether it fell back."""
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", self.api.start_key: str(after)}
            if after is not None
            else {"ShardIteratorType": "AT_SEQUENCE_NUMBER", self.api.start_key: self.first}
        )
        try:
            return self._get(position), False
        except Exception as exc:
            if error_code(exc) not in self.api.position_gone:
                raise
        # The position is gone (trimmed); read from the oldest record the shard still has.
        try:
            return self._get({"ShardIteratorType": "TRIM_HORIZON"}), True
        except Exception as exc:
            if error_code(exc) not in self.api.position_gone:
                raise
            raise _ShardGone(f"{error_code(exc)}: {exc}") from exc

    def _get(self, position: dict[str, str]) -> str:
        response = self.client.get_shard_iterator(
            **self.api.stream_args(self.stream), ShardId=self.shard_id, **position
        )
        return str(response["ShardIterator"])


def _rest(
    shard_id: str, last_seen: int | None, first: str, last: str, reason: str, detail: str
) -> MissingRange:
    """The part of the range after the last record seen."""
    return MissingRange(shard_id, first if last_seen is None else str(last_seen + 1), last, reason, detail)
