"""Fakes of the Kinesis and SQS calls produce and redrive make, builders of failure-queue messages,
and fixtures handing them out (the produce/ and redrive/ conftests import them).

The fakes keep records per shard with sequence numbers that cross a digit boundary (so a
string comparison would put them in the wrong order), and can be told to trim, close, throttle
entries, expire iterators and return empty pages.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.core.quarantine.envelope import SQS_MESSAGE_LIMIT, build_envelope

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ticks"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/ticks-failures"
BUCKET = "ticks-failures"
# Sequence numbers start just below 10**55 so later ones have one more digit.
FIRST_SEQUENCE = 10**55 - 7 * 10**40
SEQUENCE_STEP = 10**40


def client_error(code: str, operation: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


@dataclass
class FakeShard:
    records: list[dict[str, Any]] = field(default_factory=list)
    trimmed_below: int = 0  # records with smaller sequence numbers are gone
    closed: bool = False

    def readable(self) -> list[dict[str, Any]]:
        return [r for r in self.records if int(r["SequenceNumber"]) >= self.trimmed_below]


class FakeKinesis:
    """Just enough of the Kinesis API: PutRecords, GetShardIterator, GetRecords, DescribeStreamSummary."""

    def __init__(
        self, *, shards: int = 1, retention_hours: int = 24, trimmed_error: str = "InvalidArgumentException"
    ):
        self.shards = {f"shardId-{i:012d}": FakeShard() for i in range(shards)}
        self.retention_hours = retention_hours
        self.trimmed_error = trimmed_error
        self._sequence = itertools.count(FIRST_SEQUENCE, SEQUENCE_STEP)
        self.page_cap: int | None = None  # at most this many records a page, whatever Limit says
        self.empty_pages = 0  # this many empty pages (MillisBehindLatest > 0) before each real one
        self.omit_millis_behind = False
        self.expire_calls: set[int] = set()  # GetRecords calls (1-based) that raise ExpiredIterator
        self.fail_entries: list[set[int]] = []  # per PutRecords call: entry indexes that get an ErrorCode
        self.put_calls: list[list[dict[str, Any]]] = []
        self.explicit_hash_keys: dict[str, str | None] = {}  # by sequence number: what each was put with
        self.get_records_calls = 0
        self.iterator_requests: list[dict[str, Any]] = []
        self._empty_served = 0

    # --- test helpers ---
    def add(self, data: bytes, key: str = "k", shard: str = "shardId-000000000000") -> str:
        sequence = str(next(self._sequence))
        self.shards[shard].records.append(
            {
                "SequenceNumber": sequence,
                "Data": data,
                "PartitionKey": key,
                "ApproximateArrivalTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
            }
        )
        return sequence

    def trim(self, shard: str, below: str) -> None:
        self.shards[shard].trimmed_below = int(below)

    def data(self, shard: str = "shardId-000000000000") -> list[tuple[str, bytes]]:
        return [(r["PartitionKey"], r["Data"]) for r in self.shards[shard].records]

    # --- API ---
    def list_shards(self, **_: Any) -> dict[str, Any]:
        """The shards, each an even share of the 128-bit hash key space, as CreateStream splits it."""
        count = len(self.shards)
        return {
            "Shards": [
                {
                    "ShardId": shard,
                    "HashKeyRange": {
                        "StartingHashKey": str((index << 128) // count),
                        "EndingHashKey": str(((index + 1) << 128) // count - 1),
                    },
                    "SequenceNumberRange": {"StartingSequenceNumber": str(FIRST_SEQUENCE)},
                }
                for index, shard in enumerate(sorted(self.shards))
            ]
        }

    def describe_stream_summary(self, **_: Any) -> dict[str, Any]:
        return {
            "StreamDescriptionSummary": {
                "RetentionPeriodHours": self.retention_hours,
                "StreamARN": STREAM_ARN,
            }
        }

    def put_records(self, *, Records: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        failing = self.fail_entries.pop(0) if self.fail_entries else set()
        self.put_calls.append(Records)
        results = []
        for index, entry in enumerate(Records):
            if index in failing:
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
                )
                continue
            hashed = entry.get("ExplicitHashKey") or int(
                hashlib.md5(entry["PartitionKey"].encode()).hexdigest(), 16
            )
            shard = sorted(self.shards)[int(hashed) * len(self.shards) >> 128]  # even hash key ranges
            sequence = self.add(bytes(entry["Data"]), entry["PartitionKey"], shard)
            self.explicit_hash_keys[sequence] = entry.get("ExplicitHashKey")
            results.append({"SequenceNumber": sequence, "ShardId": shard})
        return {"FailedRecordCount": sum(1 for r in results if "ErrorCode" in r), "Records": results}

    def get_shard_iterator(
        self, *, ShardId: str, ShardIteratorType: str, StartingSequenceNumber: str | None = None, **_: Any
    ) -> dict[str, Any]:
        self.iterator_requests.append(
            {"type": ShardIteratorType, "sequence": StartingSequenceNumber, "shard": ShardId}
        )
        if ShardId not in self.shards:
            raise client_error("ResourceNotFoundException", "GetShardIterator", f"no shard {ShardId}")
        shard = self.shards[ShardId]
        if ShardIteratorType == "TRIM_HORIZON":
            position = shard.trimmed_below
        else:
            assert StartingSequenceNumber is not None
            wanted = int(StartingSequenceNumber)
            if wanted < shard.trimmed_below:
                raise client_error(self.trimmed_error, "GetShardIterator", "trimmed")
            position = wanted if ShardIteratorType == "AT_SEQUENCE_NUMBER" else wanted + 1
        return {"ShardIterator": json.dumps([ShardId, position])}

    def get_records(self, *, ShardIterator: str, Limit: int = 10000) -> dict[str, Any]:
        self.get_records_calls += 1
        if self.get_records_calls in self.expire_calls:
            raise client_error("ExpiredIteratorException", "GetRecords", "iterator expired")
        shard_id, position = json.loads(ShardIterator)
        shard = self.shards[shard_id]
        ahead = [r for r in shard.readable() if int(r["SequenceNumber"]) >= position]
        if self._empty_served < self.empty_pages and ahead:
            self._empty_served += 1
            return self._page([], shard_id, position, shard, behind=5000)
        self._empty_served = 0
        page = ahead[: min(Limit, self.page_cap or Limit)]
        next_position = int(page[-1]["SequenceNumber"]) + 1 if page else position
        behind = 0 if len(page) == len(ahead) else 1000
        return self._page(page, shard_id, next_position, shard, behind)

    def _page(
        self, records: list[dict[str, Any]], shard_id: str, position: int, shard: FakeShard, behind: int
    ) -> dict[str, Any]:
        at_end = not [r for r in shard.readable() if int(r["SequenceNumber"]) >= position]
        page: dict[str, Any] = {"Records": records}
        if not (shard.closed and at_end):
            page["NextShardIterator"] = json.dumps([shard_id, position])
        if not self.omit_millis_behind:
            page["MillisBehindLatest"] = behind
        return page


@dataclass
class FakeMessage:
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent_at_ms: int
    visible: bool = True
    receipt: str = ""


class FakeSqs:
    """A queue: receive hides messages until deleted or made visible again."""

    def __init__(self) -> None:
        self.messages: dict[str, FakeMessage] = {}
        self.deleted: list[str] = []
        self.released: list[str] = []
        self._ids = itertools.count(1)
        self._receipts = itertools.count(1)

    def send(
        self,
        body: str | dict[str, Any],
        attributes: dict[str, Any] | None = None,
        sent_at: datetime | None = None,
    ) -> str:
        message_id = f"m-{next(self._ids)}"
        text = body if isinstance(body, str) else json.dumps(body)
        sent = sent_at or datetime(2026, 1, 1, tzinfo=UTC)
        self.messages[message_id] = FakeMessage(
            message_id, text, attributes or {}, int(sent.timestamp() * 1000)
        )
        return message_id

    @property
    def remaining(self) -> list[str]:
        return [m for m in self.messages if m not in self.deleted]

    def get_queue_url(self, *, QueueName: str, **_: Any) -> dict[str, Any]:
        return {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/000000000000/{QueueName}"}

    def receive_message(self, *, QueueUrl: str, MaxNumberOfMessages: int = 1, **_: Any) -> dict[str, Any]:
        out = []
        for message in self.messages.values():
            if len(out) >= MaxNumberOfMessages:
                break
            if message.visible and message.message_id not in self.deleted:
                message.visible = False
                message.receipt = f"r-{next(self._receipts)}-{message.message_id}"
                out.append(
                    {
                        "MessageId": message.message_id,
                        "ReceiptHandle": message.receipt,
                        "Body": message.body,
                        "Attributes": {"SentTimestamp": str(message.sent_at_ms)},
                        "MessageAttributes": message.attributes,
                    }
                )
        return {"Messages": out} if out else {}

    def _by_receipt(self, receipt: str) -> FakeMessage:
        return next(m for m in self.messages.values() if m.receipt == receipt)

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:
        self.deleted.append(self._by_receipt(ReceiptHandle).message_id)

    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        assert VisibilityTimeout == 0
        message = self._by_receipt(ReceiptHandle)
        message.visible = True
        self.released.append(message.message_id)


def make_on_failure_body(
    *,
    shard_id: str,
    start: str,
    end: str,
    batch_size: int | None,
    first_arrival: str = "2026-01-01T00:00:00.000Z",
    condition: str | None = "RetryAttemptsExhausted",
    timestamp: str = "2026-01-01T00:05:00.000Z",
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    """Lambda's on-failure record for a Kinesis batch; ``condition=None`` gives LocalStack's age-expiry shape."""
    body: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp,
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "approximateArrivalOfFirstRecord": first_arrival,
            "approximateArrivalOfLastRecord": first_arrival,
            "batchSize": batch_size,
            "streamArn": stream_arn,
        },
    }
    if condition is not None:
        body["requestContext"] = {
            "requestId": "req-1",
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:ticks",
            "condition": condition,
            "approximateInvokeCount": 3,
        }
        body["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        }
    return body


def kinesis_event_records(
    records: list[tuple[bytes, str, str]],
    *,
    shard_id: str = "shardId-000000000000",
    stream_arn: str = STREAM_ARN,
    arrival: float = datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
) -> list[dict[str, Any]]:
    """The ``Records`` of a Kinesis event as Lambda sends it, for (data, partition key, sequence number)."""
    return [
        {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": key,
                "sequenceNumber": sequence,
                "data": base64.b64encode(data).decode(),
                "approximateArrivalTimestamp": arrival,
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": "arn:aws:iam::000000000000:role/ticks",
            "awsRegion": "us-east-1",
            "eventSourceARN": stream_arn,
        }
        for data, key, sequence in records
    ]


def make_on_failure_object(
    records: list[tuple[bytes, str, str]],
    *,
    shard_id: str = "shardId-000000000000",
    shape: str = "localstack",
    batch_size: int | None = None,
    condition: str | None = "RetryAttemptsExhausted",
    timestamp: str = "2026-01-01T00:05:00.000Z",
) -> dict[str, Any]:
    """Lambda's S3 on-failure object for a Kinesis batch of (data, partition key, sequence number):
    ``payload`` is the event as a JSON object (``shape="localstack"``) or as an escaped JSON string
    (``shape="aws"``, as AWS documents it)."""
    body = make_on_failure_body(
        shard_id=shard_id,
        start=records[0][2],
        end=records[-1][2],
        batch_size=len(records) if batch_size is None else batch_size,
        condition=condition,
        timestamp=timestamp,
    )
    event = {"Records": kinesis_event_records(records, shard_id=shard_id)}
    body["payload"] = event if shape == "localstack" else json.dumps(event)
    return body


def make_quarantine_body(
    *,
    payload: bytes,
    shard_id: str = "shardId-000000000000",
    sequence_number: str = "1",
    partition_key: str = "k",
    reason: str = "invalid_json",
    inline: bool = True,
    sha256: str | None = None,
    quarantined_at: str = "2026-01-01T00:05:00.000Z",
    arrival: float = datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
    event_source: str = "aws:kinesis",
    claim_check: ClaimCheck | None = None,
) -> str:
    """A shardsafe quarantine envelope, built by the handler's own code; ``inline=False`` keeps
    only the hash, as for an oversized record, and ``claim_check`` points at an S3 object instead."""
    envelope = build_envelope(
        reason=reason,
        payload=payload,
        record={
            "eventSource": event_source,
            "eventSourceArn": STREAM_ARN,
            "shardId": shard_id,
            "sequenceNumber": sequence_number,
            "partitionKey": partition_key,
            "approximateArrivalTimestamp": arrival,
        },
        error_type="json.decoder.JSONDecodeError",
        error_message="Expecting value",
        function_name="ticks",
        request_id="req-1",
        max_message_bytes=SQS_MESSAGE_LIMIT if inline else 0,
    )
    envelope = replace(envelope, quarantined_at=quarantined_at)
    if claim_check is not None:
        envelope = envelope.with_claim_check(claim_check)
    if sha256 is not None:
        envelope = replace(envelope, payload_sha256=sha256)
    return envelope.to_body()


# --- fixtures ---


@pytest.fixture
def fake_kinesis() -> Callable[..., FakeKinesis]:
    """A factory: fake_kinesis(shards=2, retention_hours=48)."""
    return FakeKinesis


@pytest.fixture
def fake_sqs() -> Callable[[], FakeSqs]:
    return FakeSqs


@pytest.fixture
def on_failure_body() -> Callable[..., dict[str, Any]]:
    """A factory for Lambda on-failure message bodies (see make_on_failure_body)."""
    return make_on_failure_body


@pytest.fixture
def quarantine_body() -> Callable[..., str]:
    """A factory for quarantine envelope bodies (see make_quarantine_body)."""
    return make_quarantine_body
