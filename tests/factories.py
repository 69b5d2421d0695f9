"""Synthetic Lambda events for the shardsafe tests: Kinesis, DynamoDB Streams and SQS.

Every function returns plain dicts shaped like what Lambda sends. The fixtures at the end hand
them to tests as factories; tests/unit and tests/functional import them in their conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from shardsafe_harness import events, logs

from shardsafe import MemoryMetrics, MemoryQuarantine

STREAM_ARN = events.STREAM_ARN
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:input"
FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:input.fifo"
TABLE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/ticks/stream/2024-01-01T00:00:00.000"
SHARD_ID = events.SHARD_ID
FIRST_SEQUENCE = events.FIRST_SEQUENCE


def tick(ticker: str = "AMZN", price: float = 123.45, n: int = 0) -> dict[str, Any]:
    """A valid stock tick, the seed data's shape."""
    return {"EVENT_TIME": f"2024-01-01T00:00:{n % 60:02d}.000", "TICKER": ticker, "PRICE": price}


def to_bytes(data: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data).encode()


def kinesis_record(
    data: bytes | str | dict[str, Any] | list[Any] | None = None,
    *,
    sequence: int = 0,
    raw_data: str | None = None,
    partition_key: str = "AMZN",
    shard_id: str = SHARD_ID,
) -> dict[str, Any]:
    """A Kinesis record; ``data`` is base64-encoded for you, ``raw_data`` is put in as it is."""
    return events.kinesis_record(
        to_bytes(tick() if data is None else data),
        sequence=sequence,
        raw_data=raw_data,
        partition_key=partition_key,
        shard_id=shard_id,
    )


def kinesis_event(records: list[Any] | None = None, *, count: int | None = None) -> dict[str, Any]:
    """A Kinesis event. ``records`` items are payloads (bytes, str, dict) or ready-made records;
    ``count`` makes that many valid ticks instead."""
    if records is None:
        records = [tick(n=n) for n in range(count or 0)]
    built = []
    for index, item in enumerate(records):
        if isinstance(item, dict) and "kinesis" in item:
            built.append(item)
        else:
            built.append(kinesis_record(item, sequence=index))
    return {"Records": built}


def sqs_record(
    body: str | dict[str, Any] | None = None, *, index: int = 0, fifo: bool = False, group: str = "AMZN"
) -> dict[str, Any]:
    """An SQS message; ``fifo`` puts it on a FIFO queue (``.fifo`` ARN) in message group ``group``."""
    text = json.dumps(tick()) if body is None else body if isinstance(body, str) else json.dumps(body)
    attributes: dict[str, str] = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(1704067200123 + index),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(1704067200223 + index),
    }
    if fifo:
        attributes.update({"SequenceNumber": str(18849496460467696128 + index), "MessageGroupId": group})
    return {
        "messageId": f"059f36b4-87a3-44ab-83d2-{index:012d}",
        "receiptHandle": f"handle-{index}",
        "body": text,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": FIFO_QUEUE_ARN if fifo else QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(
    bodies: list[str | dict[str, Any]], *, fifo: bool = False, groups: list[str] | None = None
) -> dict[str, Any]:
    """An SQS event; for a FIFO queue, ``groups`` gives each message's group (default one group)."""
    return {
        "Records": [
            sqs_record(body, index=index, fifo=fifo, group=groups[index] if groups else "AMZN")
            for index, body in enumerate(bodies)
        ]
    }


def dynamodb_record(
    new_image: dict[str, Any] | None = None, *, index: int = 0, name: str = "INSERT"
) -> dict[str, Any]:
    image = new_image if new_image is not None else {"TICKER": {"S": "AMZN"}, "PRICE": {"N": "123.45"}}
    return {
        "eventID": f"c4ca4238a0b923820dcc509a6f75849{index}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1704067200 + index,
            "Keys": {"TICKER": {"S": "AMZN"}, "EVENT_TIME": {"S": f"2024-01-01T00:00:{index:02d}"}},
            "NewImage": image,
            "SequenceNumber": str(111 + index),
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": TABLE_STREAM_ARN,
    }


def dynamodb_event(images: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": [dynamodb_record(image, index=index) for index, image in enumerate(images)]}


class FakeContext:
    """The parts of the Lambda context object shardsafe reads."""

    def __init__(self, remaining_ms: int = 60_000, function_name: str = "shardsafe-test") -> None:
        self.function_name = function_name
        self.aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines of captured stdout."""
    return logs.json_lines(text.splitlines())


# --- fixtures ---


@pytest.fixture(name="kinesis_event")
def kinesis_event_fixture() -> Callable[..., dict[str, Any]]:
    """kinesis_event(records=[payload or record, ...]) or kinesis_event(count=n)."""
    return kinesis_event


@pytest.fixture(name="kinesis_record")
def kinesis_record_fixture() -> Callable[..., dict[str, Any]]:
    return kinesis_record


@pytest.fixture(name="sqs_event")
def sqs_event_fixture() -> Callable[..., dict[str, Any]]:
    return sqs_event


@pytest.fixture(name="dynamodb_event")
def dynamodb_event_fixture() -> Callable[..., dict[str, Any]]:
    return dynamodb_event


@pytest.fixture
def quarantine() -> MemoryQuarantine:
    return MemoryQuarantine()


@pytest.fixture
def metrics() -> MemoryMetrics:
    return MemoryMetrics()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """log_lines() -> the JSON lines written to stdout since the last call."""

    def read() -> list[dict[str, Any]]:
        return json_lines(capsys.readouterr().out)

    return read
