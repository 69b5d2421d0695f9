"""Record model: stream coordinates for each source, and descriptions that never raise."""

from __future__ import annotations

from typing import Any

import pytest

from shardsafe.core.sources import SOURCES, DynamoDBRecord, KinesisRecord, SqsRecord, by_name
from tests import factories

REGISTRY = by_name(SOURCES)


def test_kinesis_record_reads_its_coordinates() -> None:
    raw = factories.kinesis_record(sequence=3, partition_key="AAPL")
    record = KinesisRecord(raw, b"{}", {})
    assert record.shard_id == "shardId-000000000000"
    assert record.sequence_number == str(factories.FIRST_SEQUENCE + 3)
    assert record.partition_key == "AAPL"
    assert record.event_source_arn == factories.STREAM_ARN
    assert record.approximate_arrival_timestamp == pytest.approx(1704067203.123)
    assert record.item_identifier == record.sequence_number
    assert record.payload == b"{}"


def test_sqs_record_reads_message_id_and_fifo_coordinates() -> None:
    raw = factories.sqs_record({"a": 1}, index=2, fifo=True)
    record = SqsRecord(raw, b"{}", {})
    assert record.message_id == raw["messageId"] == record.item_identifier
    assert record.message_group_id == "AMZN"
    assert record.is_fifo
    assert record.sequence_number == str(18849496460467696130)
    assert record.sent_timestamp == pytest.approx(1704067200.125)
    assert record.describe()["messageId"] == raw["messageId"]


def test_dynamodb_record_payload_is_the_whole_stream_record_as_json() -> None:
    raw = factories.dynamodb_record(index=1, name="MODIFY")
    record = DynamoDBRecord(raw, None, raw["dynamodb"])
    assert record.event_name == "MODIFY"
    assert record.sequence_number == "112" == record.item_identifier
    assert record.describe()["keys"] == raw["dynamodb"]["Keys"]
    assert record.payload.startswith(b'{"awsRegion":"us-east-1"')


@pytest.mark.parametrize(
    "raw", [None, 42, "text", [], {}, {"kinesis": "nope"}, {"eventID": 7}, {"dynamodb": []}]
)
@pytest.mark.parametrize("source", sorted(REGISTRY))
def test_describing_a_malformed_record_never_raises(source: str, raw: Any) -> None:
    adapter = REGISTRY[source]
    described = adapter.describe(raw)
    assert described["eventSource"] == source
    assert adapter.item_identifier(raw) is None
    assert isinstance(adapter.raw_payload(raw), bytes)


def test_undecodable_kinesis_data_is_kept_as_its_text() -> None:
    raw = factories.kinesis_record(raw_data="not base64!")
    assert REGISTRY["aws:kinesis"].raw_payload(raw) == b"not base64!"


def test_identity_names_a_record_across_deliveries_and_is_none_without_its_parts() -> None:
    kinesis = factories.kinesis_record(sequence=3)
    assert KinesisRecord(kinesis, None, None).identity == (
        factories.STREAM_ARN,
        "shardId-000000000000",
        str(factories.FIRST_SEQUENCE + 3),
    )
    message = factories.sqs_record({"a": 1}, index=2)
    assert SqsRecord(message, None, None).identity == (message["eventSourceARN"], message["messageId"])
    change = factories.dynamodb_record(index=1)
    assert DynamoDBRecord(change, None, None).identity == (factories.TABLE_STREAM_ARN, change["eventID"])
    for source in REGISTRY.values():
        assert source.identity({}) is None and source.identity(None) is None
