"""DynamoDB in the embedded LocalStack: the moto-backed Streams provider's fixes, its selection, and the
payload limit leaving a DynamoDB record as the poller needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from localstack.aws.api import CommonServiceException
from localstack.aws.api.dynamodbstreams import ExpiredIteratorException, TrimmedDataAccessException
from shardsafe_localstack import ctl, payload_limit
from shardsafe_localstack.dynamodb import (
    ITERATOR_LIFETIME_S,
    DynamoDBStreamsProvider,
    as_aws_sends,
    check_sequence_number,
)

SHARD = {"ShardId": "shardId-1", "SequenceNumberRange": {"StartingSequenceNumber": "1100000000017454423009"}}
STREAM_ARN = "arn:aws:dynamodb:eu-west-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"


def moto_record(event_name: str, **images: dict[str, Any]) -> dict[str, Any]:
    """A GetRecords record as moto answers it (after botocore parsed it)."""
    return {
        "eventID": "e1",
        "eventName": event_name,
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 2, 3, 4, 5, 678901),
            "Keys": {"pk": {"S": "a"}},
            "SequenceNumber": "1100000000017454423009",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "OldImage": images.get("old", {}),
            "NewImage": images.get("new", {}),
        },
    }


def test_a_record_gets_its_region_event_version_and_a_creation_time_rounded_down_to_the_second() -> None:
    record = moto_record("MODIFY", old={"pk": {"S": "a"}}, new={"pk": {"S": "a"}, "n": {"N": "1"}})

    as_aws_sends(record, "eu-west-1")

    assert (record["awsRegion"], record["eventVersion"]) == ("eu-west-1", "1.1")
    assert record["dynamodb"]["ApproximateCreationDateTime"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert record["dynamodb"]["OldImage"] and record["dynamodb"]["NewImage"], "a MODIFY keeps both images"


@pytest.mark.parametrize(
    ("event_name", "absent", "kept"), [("INSERT", "OldImage", "NewImage"), ("REMOVE", "NewImage", "OldImage")]
)
def test_an_insert_has_no_old_image_and_a_remove_no_new_one(event_name: str, absent: str, kept: str) -> None:
    record = moto_record(event_name, old={"pk": {"S": "a"}}, new={"pk": {"S": "a"}})
    record["dynamodb"][absent] = {}

    as_aws_sends(record, "us-east-1")

    assert absent not in record["dynamodb"] and record["dynamodb"][kept] == {"pk": {"S": "a"}}


@pytest.mark.parametrize("value", [None, "", "abc", "12x"])
def test_a_missing_or_non_decimal_sequence_number_is_a_validation_error_naming_it(value: str | None) -> None:
    request = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": value}

    with pytest.raises(CommonServiceException) as raised:
        check_sequence_number(request, SHARD)  # type: ignore[arg-type]

    assert raised.value.code == "ValidationException" and repr(value) in raised.value.message


def test_a_sequence_number_before_the_shard_is_trimmed_data_and_one_in_it_passes() -> None:
    before = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1100000000017454423008"}
    first = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "1100000000017454423009"}

    with pytest.raises(TrimmedDataAccessException, match="1100000000017454423008.*TRIM_HORIZON"):
        check_sequence_number(before, SHARD)  # type: ignore[arg-type]
    check_sequence_number(first, SHARD)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_iterator_is_expired_not_a_crash() -> None:
    provider = DynamoDBStreamsProvider(clock=Clock())
    context = SimpleNamespace(account_id="000000000000", region="us-east-1")

    with pytest.raises(ExpiredIteratorException, match="GetShardIterator"):
        provider.get_records(context, {"ShardIterator": "never-handed-out"})  # type: ignore[arg-type]


def test_an_iterator_expires_15_minutes_after_it_was_handed_out_and_leaves_moto(monkeypatch) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    clock = Clock()
    provider = DynamoDBStreamsProvider(clock=clock)
    context = SimpleNamespace(account_id="000000000000", region="us-east-1")
    backend = dynamodbstreams_backends["000000000000"]["us-east-1"]
    backend.shard_iterators["it-1"] = object()  # type: ignore[assignment]
    provider._remember("it-1")
    called: list[str] = []
    monkeypatch.setattr("shardsafe_localstack.dynamodb.call_moto", lambda ctx: called.append("moto") or {})

    clock.now += ITERATOR_LIFETIME_S - 1
    provider.get_records(context, {"ShardIterator": "it-1"})  # type: ignore[arg-type]
    clock.now += 2
    with pytest.raises(ExpiredIteratorException):
        provider.get_records(context, {"ShardIterator": "it-1"})  # type: ignore[arg-type]

    assert called == ["moto"], "moto is asked only while the iterator lives"
    assert "it-1" not in backend.shard_iterators, "moto's copy is dropped too"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, {"PROVIDER_OVERRIDE_DYNAMODB": "shardsafe", "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "shardsafe"}),
        (
            {"SHARDSAFE_LOCALSTACK_DYNAMODB": "1"},
            {"PROVIDER_OVERRIDE_DYNAMODB": "shardsafe", "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "shardsafe"},
        ),
        ({"SHARDSAFE_LOCALSTACK_DYNAMODB": "0"}, {}),
        ({"PROVIDER_OVERRIDE_DYNAMODB": "v2"}, {}),
        ({"PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2"}, {}),
    ],
    ids=["default", "on", "off", "user-dynamodb", "user-streams"],
)
def test_the_embedded_localstack_selects_the_moto_providers_unless_switched_off_or_chosen(
    environment: dict[str, str], expected: dict[str, str]
) -> None:
    assert ctl.dynamodb_overrides(environment) == expected


def test_a_bad_dynamodb_switch_stops_the_start_naming_the_value_and_the_fix() -> None:
    with pytest.raises(ctl.LocalStackError, match="SHARDSAFE_LOCALSTACK_DYNAMODB='maybe'.*1 or 0"):
        ctl.dynamodb_overrides({"SHARDSAFE_LOCALSTACK_DYNAMODB": "maybe"})


def test_the_environment_passed_to_localstack_serves_dynamodb_from_moto(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PROVIDER_OVERRIDE_DYNAMODB", raising=False)
    monkeypatch.delenv("PROVIDER_OVERRIDE_DYNAMODBSTREAMS", raising=False)
    monkeypatch.delenv("SHARDSAFE_LOCALSTACK_DYNAMODB", raising=False)
    monkeypatch.delenv("LOCALSTACK_SERVICES", raising=False)

    env = ctl._environment(ctl.Paths(tmp_path), 4599)

    assert env["PROVIDER_OVERRIDE_DYNAMODB"] == env["PROVIDER_OVERRIDE_DYNAMODBSTREAMS"] == "shardsafe"
    assert {"dynamodb", "dynamodbstreams"} <= set(env["SERVICES"].split(","))


def test_measuring_a_dynamodb_record_for_the_payload_limit_leaves_it_as_the_poller_needs_it() -> None:
    from localstack.services.lambda_.event_source_mapping.pollers.dynamodb_poller import DynamoDBPoller

    poller = DynamoDBPoller(
        STREAM_ARN,
        {"DynamoDBStreamParameters": {"BatchSize": 10, "StartingPosition": "TRIM_HORIZON"}},
        processor=object(),  # type: ignore[arg-type]  # not called: nothing is invoked here
    )
    record = moto_record("INSERT", new={"pk": {"S": "a"}})
    as_aws_sends(record, "eu-west-1")
    created = record["dynamodb"]["ApproximateCreationDateTime"]

    payload_limit.event_size(poller, "shardId-1", record)

    assert record["dynamodb"]["ApproximateCreationDateTime"] == created, "the record is not changed"
    (event,) = poller.transform_into_events([record], "shardId-1")  # what forwarding does next
    assert event["dynamodb"]["ApproximateCreationDateTime"] == created.timestamp()
