"""A DynamoDB stream record as items: its data, keys, images, event name, table and the TTL-delete marker."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from shardsafe import MemoryQuarantine, StreamProcessor, reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.sources import DynamoDBRecord
from shardsafe.core.sources.dynamodb import DynamoDBSource, table_of
from tests import factories

SOURCE = DynamoDBSource()
KEYS = {"pk": {"S": "order-1"}}
OLD = {"pk": {"S": "order-1"}, "amount": {"N": "10"}, "tags": {"SS": ["a"]}}
NEW = {"pk": {"S": "order-1"}, "amount": {"N": "12.50"}, "tags": {"SS": ["a", "b"]}}
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def stream_record(
    name: str, *, new: Any = None, old: Any = None, keys: Any = KEYS, **extra: Any
) -> dict[str, Any]:
    raw = factories.dynamodb_record(name=name)
    section = raw["dynamodb"]
    section.pop("NewImage")
    section["Keys"] = keys
    if keys is None:
        del section["Keys"]
    if new is not None:
        section["NewImage"] = new
    if old is not None:
        section["OldImage"] = old
    raw.update(extra)
    return raw


def record(raw: dict[str, Any]) -> DynamoDBRecord:
    return DynamoDBRecord(raw, None, SOURCE.extract(raw))


@pytest.mark.parametrize(
    ("name", "new", "old", "data"),
    [
        ("INSERT", NEW, None, {"pk": "order-1", "amount": Decimal("12.50"), "tags": {"a", "b"}}),
        ("MODIFY", NEW, OLD, {"pk": "order-1", "amount": Decimal("12.50"), "tags": {"a", "b"}}),
        ("REMOVE", None, OLD, {"pk": "order-1", "amount": Decimal(10), "tags": {"a"}}),
        ("INSERT", None, None, {"pk": "order-1"}),  # KEYS_ONLY
        ("REMOVE", None, None, {"pk": "order-1"}),  # NEW_IMAGE: a REMOVE has no image
        ("MODIFY", None, OLD, {"pk": "order-1"}),  # OLD_IMAGE: no new image, the keys
    ],
)
def test_data_is_the_item_the_change_is_about(name: str, new: Any, old: Any, data: dict[str, Any]) -> None:
    assert SOURCE.extract(stream_record(name, new=new, old=old)) == data


def test_keys_and_images_are_python_values_and_none_where_the_stream_has_none() -> None:
    modified = record(stream_record("MODIFY", new=NEW, old=OLD))
    assert modified.event_name == "MODIFY"
    assert modified.keys == {"pk": "order-1"}
    assert modified.new_image == {"pk": "order-1", "amount": Decimal("12.50"), "tags": {"a", "b"}}
    assert modified.old_image == {"pk": "order-1", "amount": Decimal(10), "tags": {"a"}}
    inserted = record(stream_record("INSERT", new=NEW))
    assert inserted.old_image is None
    assert record(stream_record("REMOVE", old=OLD)).new_image is None


def test_images_are_read_from_the_record_whatever_data_became() -> None:
    raw = stream_record("INSERT", new=NEW)
    converted = DynamoDBRecord(raw, None, "something else")
    assert converted.new_image == SOURCE.extract(raw)
    assert (
        converted.new_image is not converted.new_image
    )  # a fresh dict each time: the record is never changed


def test_a_remove_by_time_to_live_is_marked_and_a_callers_remove_is_not() -> None:
    assert record(stream_record("REMOVE", old=OLD, userIdentity=TTL_IDENTITY)).is_ttl_delete
    assert not record(stream_record("REMOVE", old=OLD)).is_ttl_delete
    other_service = {"type": "Service", "principalId": "other.amazonaws.com"}
    assert not record(stream_record("REMOVE", old=OLD, userIdentity=other_service)).is_ttl_delete
    assert not record(stream_record("MODIFY", new=NEW, userIdentity=TTL_IDENTITY)).is_ttl_delete


def test_table_name_comes_from_the_stream_arn() -> None:
    assert record(stream_record("INSERT", new=NEW)).table_name == "ticks"
    assert table_of("arn:aws:dynamodb:us-east-1:1:table/orders") == "orders"
    assert table_of("arn:aws:kinesis:us-east-1:1:stream/orders") is None
    assert table_of(None) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            stream_record("INSERT", new={"amount": {"N": "ten"}}),
            "dynamodb.NewImage: attribute 'amount': N 'ten'",
        ),
        (
            stream_record("REMOVE", old={"pk": {"Q": "x"}}),
            "dynamodb.OldImage: attribute 'pk': DynamoDB has no",
        ),
        (stream_record("INSERT", keys=None), "record has neither Keys nor an image"),
        (stream_record("INSERT", keys={"pk": "x"}), "dynamodb.Keys: attribute 'pk'"),
    ],
)
def test_an_unreadable_item_is_a_malformed_record_naming_what(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(Rejection) as caught:
        SOURCE.extract(raw)
    assert caught.value.reason == reasons.MALFORMED_RECORD
    assert message in caught.value.error_message


def test_the_handler_gets_the_item_and_a_record_it_cannot_read_is_quarantined_whole() -> None:
    event = {
        "Records": [stream_record("INSERT", new=NEW), stream_record("INSERT", new={"amount": {"N": "x"}})]
    }
    seen: list[Any] = []
    quarantine = MemoryQuarantine()
    processor = StreamProcessor(lambda r: seen.append(r.data), quarantine=quarantine, metrics=False)
    result = processor.process(event)
    assert seen == [{"pk": "order-1", "amount": Decimal("12.50"), "tags": {"a", "b"}}]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.MALFORMED_RECORD
    assert json.loads(envelope.payload_bytes() or b"") == event["Records"][1]
    assert result.counts().quarantined == 1
