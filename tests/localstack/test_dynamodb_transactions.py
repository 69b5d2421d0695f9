"""TransactWriteItems on moto without copying whole tables (shardsafe_localstack.dynamodb_transactions):
the same answers as moto's own method, atomic as AWS documents it, and no table copied.

Run in process against moto (the DynamoDB the embedded LocalStack serves), with the patch applied, and
each check made against moto's own method too where the answers must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from shardsafe_localstack import dynamodb_transactions


@pytest.fixture
def client() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client(
            "dynamodb", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )


@pytest.fixture(params=["patched", "moto's own"])
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "patched":
        monkeypatch.setenv(dynamodb_transactions.TRANSACTIONS_ENV, "1")
        assert dynamodb_transactions.apply()
    yield request.param
    dynamodb_transactions.restore()


def table(client: Any, name: str = "t", *, stream: bool = False, range_key: bool = False) -> str:
    keys = [{"AttributeName": "id", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "id", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "at", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "at", "AttributeType": "N"})
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    client.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def put(name: str, key: str, **more: Any) -> dict[str, Any]:
    item = {"id": {"S": key}, **{k: {"S": v} for k, v in more.items()}}
    return {"Put": {"TableName": name, "Item": item}}


def put_if_absent(name: str, key: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": name,
            "Item": {"id": {"S": key}, "status": {"S": "new"}},
            "ConditionExpression": "attribute_not_exists(id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def items(client: Any, name: str) -> dict[str, dict[str, Any]]:
    return {item["id"]["S"]: item for item in client.scan(TableName=name)["Items"]}


def test_a_transaction_that_holds_applies_every_action(client: Any, method: str) -> None:
    name = table(client)
    client.put_item(TableName=name, Item={"id": {"S": "old"}, "v": {"S": "1"}})
    client.put_item(TableName=name, Item={"id": {"S": "gone"}})
    client.transact_write_items(
        TransactItems=[
            put(name, "new", v="2"),
            {
                "Update": {
                    "TableName": name,
                    "Key": {"id": {"S": "old"}},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "3"}},
                }
            },
            {"Delete": {"TableName": name, "Key": {"id": {"S": "gone"}}}},
        ]
    )
    assert {key: item.get("v", {}).get("S") for key, item in items(client, name).items()} == {
        "new": "2",
        "old": "3",
    }


def test_a_failed_condition_cancels_every_action_and_names_each_reason(client: Any, method: str) -> None:
    name = table(client)
    client.put_item(TableName=name, Item={"id": {"S": "held"}, "status": {"S": "COMPLETED"}})
    client.put_item(TableName=name, Item={"id": {"S": "changed"}, "v": {"S": "1"}})
    client.put_item(TableName=name, Item={"id": {"S": "deleted"}, "v": {"S": "kept"}})
    before = items(client, name)

    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                put_if_absent(name, "fresh"),
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"id": {"S": "changed"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "2"}},
                    }
                },
                {"Delete": {"TableName": name, "Key": {"id": {"S": "deleted"}}}},
                put_if_absent(name, "held"),
            ]
        )

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"] == {"id": {"S": "held"}, "status": {"S": "COMPLETED"}}
    assert items(client, name) == before


def test_a_cancelled_transaction_leaves_no_stream_record(client: Any, method: str) -> None:
    name = table(client, stream=True)
    client.put_item(TableName=name, Item={"id": {"S": "held"}})
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put_if_absent(name, "a"), put_if_absent(name, "held")])
    client.transact_write_items(TransactItems=[put_if_absent(name, "b")])
    assert [record["dynamodb"]["Keys"]["id"]["S"] for record in stream_records(name)] == ["held", "b"]


def stream_records(name: str) -> list[dict[str, Any]]:
    """The table's stream records, as moto keeps them (what DynamoDB Streams' GetRecords reads)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(name).stream_shard
    assert shard is not None
    return [record.to_json() for record in shard.items]


def test_a_cancelled_transaction_on_a_table_with_a_range_key_is_undone(client: Any, method: str) -> None:
    name = table(client, range_key=True)
    client.put_item(TableName=name, Item={"id": {"S": "a"}, "at": {"N": "1"}, "v": {"S": "x"}})
    before = client.scan(TableName=name)["Items"]
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"id": {"S": "a"}, "at": {"N": "1"}, "v": {"S": "y"}}}},
                {"Put": {"TableName": name, "Item": {"id": {"S": "a"}, "at": {"N": "2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"id": {"S": "b"}, "at": {"N": "1"}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
            ]
        )
    assert client.scan(TableName=name)["Items"] == before


def test_two_actions_on_one_item_are_refused_and_nothing_is_written(client: Any, method: str) -> None:
    name = table(client)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[put(name, "a"), put(name, "b"), put(name, "a")])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert items(client, name) == {}


def test_the_patched_method_copies_no_table(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What made moto's method slow on a big table: a deep copy of it per transaction."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    copied: list[str] = []
    real_deepcopy = models.copy.deepcopy

    def counting(value: Any, *args: Any) -> Any:
        if isinstance(value, Table):
            copied.append(value.name)
        return real_deepcopy(value, *args)

    monkeypatch.setattr(models.copy, "deepcopy", counting)
    name = table(client)
    client.transact_write_items(TransactItems=[put(name, "a")])
    assert copied == [name], "moto's own method copies the table (the cost this module removes)"

    copied.clear()
    monkeypatch.setenv(dynamodb_transactions.TRANSACTIONS_ENV, "1")
    dynamodb_transactions.apply()
    try:
        client.transact_write_items(TransactItems=[put(name, "b")])
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[put_if_absent(name, "c"), put_if_absent(name, "a")])
    finally:
        dynamodb_transactions.restore()
    assert copied == []
    assert set(items(client, name)) == {"a", "b"}


def test_the_switch_off_leaves_motos_method(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    own = DynamoDBBackend.transact_write_items
    monkeypatch.setenv(dynamodb_transactions.TRANSACTIONS_ENV, "0")
    assert dynamodb_transactions.apply() is False
    assert DynamoDBBackend.transact_write_items is own
