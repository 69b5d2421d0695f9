"""DynamoDB and DynamoDB Streams on the embedded LocalStack (moto, shardsafe_localstack.dynamodb), with no download.

A table with a NEW_AND_OLD_IMAGES stream is written to (put, update, delete) and read back with
GetShardIterator/GetRecords; a mapping from its stream to a function running shardsafe processes the
INSERT records and quarantines the poison one, each checked by its key and sequence number. The
record shapes are AWS's (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html and
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from shardsafe_harness.logs import log_messages
from shardsafe_harness.resources import Resources

from shardsafe import parse_envelope
from shardsafe.ops.packaging import add_to_zip

DEADLINE_S = 90.0
PROCESSED = "PROCESSED "

# The function: shardsafe's StreamProcessor over DynamoDB records. An INSERT is processed (logged by its
# key and sequence number); an INSERT whose new image has a "poison" attribute fails, alone, and is
# quarantined; MODIFY and REMOVE records are skipped.
FUNCTION = """
import json
from shardsafe import StreamProcessor

def process(record):
    if record.event_name != "INSERT":
        return None
    item = record.data  # the new image, as Python values
    if "poison" in item:
        raise ValueError("a poison item: " + item["pk"])
    print("PROCESSED " + json.dumps({"pk": item["pk"], "seq": record.sequence_number,
          "arn": record.event_source_arn, "created": record.raw["dynamodb"]["ApproximateCreationDateTime"]}),
          flush=True)
    return item

processor = StreamProcessor(process, metrics=False)

def lambda_handler(event, context):
    return processor(event, context)
"""


def wait_for(check: Callable[[], Any], what: str) -> Any:
    give_up = time.monotonic() + DEADLINE_S
    while not (found := check()):
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {DEADLINE_S} s waiting for {what}")
        time.sleep(0.25)
    return found


@pytest.fixture
def table(aws_client: Callable[[str], Any]) -> Iterator[tuple[str, str]]:
    """A table keyed by ``pk`` with a NEW_AND_OLD_IMAGES stream: (name, stream ARN); deleted after."""
    dynamodb = aws_client("dynamodb")
    name = f"ddb-{uuid.uuid4().hex[:10]}"
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.5})
    yield name, created["TableDescription"]["LatestStreamArn"]
    dynamodb.delete_table(TableName=name)


def read_stream(streams: Any, stream_arn: str, **position: str) -> list[dict[str, Any]]:
    """The stream's records from ``position`` (TRIM_HORIZON by default) until a GetRecords comes back empty."""
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    assert len(shards) == 1, shards
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=shards[0]["ShardId"],
        **(position or {"ShardIteratorType": "TRIM_HORIZON"}),
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator, Limit=2)
        if not page["Records"]:
            return records
        records += page["Records"]
        iterator = page["NextShardIterator"]


def test_put_update_delete_are_read_back_from_the_stream_in_order_as_aws_writes_them(
    aws_client: Callable[[str], Any], table: tuple[str, str]
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    name, stream_arn = table
    key = {"pk": {"S": "item-1"}}
    dynamodb.put_item(TableName=name, Item={**key, "n": {"N": "1"}})
    dynamodb.update_item(
        TableName=name, Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "2"}}
    )
    dynamodb.delete_item(TableName=name, Key=key)

    described = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    records = read_stream(streams, stream_arn)

    assert (described["StreamStatus"], described["StreamViewType"]) == ("ENABLED", "NEW_AND_OLD_IMAGES")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["NewImage"] == {**key, "n": {"N": "1"}} and "OldImage" not in insert
    assert (modify["OldImage"]["n"], modify["NewImage"]["n"]) == ({"N": "1"}, {"N": "2"})
    assert remove["OldImage"] == {**key, "n": {"N": "2"}} and "NewImage" not in remove
    assert all(r["dynamodb"]["Keys"] == key for r in records)
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3, "ascending, one per change"
    for record in records:
        assert (record["eventSource"], record["eventVersion"]) == ("aws:dynamodb", "1.1")
        assert record["awsRegion"] == "us-east-1"
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        assert isinstance(created, datetime) and created.microsecond == 0, "rounded down to the second"
        assert abs(created.timestamp() - time.time()) < 120

    # AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER start at / after that very record (as a redrive reads).
    middle = records[1]["dynamodb"]["SequenceNumber"]
    at = read_stream(streams, stream_arn, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=middle)
    after = read_stream(streams, stream_arn, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=middle)
    assert [r["eventID"] for r in at] == [r["eventID"] for r in records[1:]]
    assert [r["eventID"] for r in after] == [records[2]["eventID"]]


def test_a_bad_shard_sequence_number_or_iterator_is_a_clear_error_not_a_crash(
    aws_client: Callable[[str], Any], table: tuple[str, str]
) -> None:
    streams = aws_client("dynamodbstreams")
    _, stream_arn = table
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    first = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    other_shard = "shardId-00000000000000000000-00000000"

    with pytest.raises(ClientError, match="ResourceNotFoundException") as missing:
        streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=other_shard, ShardIteratorType="TRIM_HORIZON"
        )
    assert other_shard in str(missing.value) and shard["ShardId"] in str(missing.value)
    with pytest.raises(ClientError, match="ValidationException") as no_number:
        streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER"
        )
    assert "SequenceNumber=None" in str(no_number.value)
    before = str(first - 1).rjust(21, "0")
    with pytest.raises(ClientError, match="TrimmedDataAccessException") as trimmed:
        streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=before,
        )
    assert before in str(trimmed.value) and "TRIM_HORIZON" in str(trimmed.value)
    with pytest.raises(ClientError, match="ExpiredIteratorException"):
        streams.get_records(ShardIterator="x" * 100)


@pytest.fixture
def ddb_function_zip(lambda_zip: Path, tmp_path: Path) -> bytes:
    return add_to_zip(lambda_zip, {"ddb_app.py": FUNCTION.encode()}, tmp_path / "ddb.zip").read_bytes()


def processed_lines(logs: Any, function: str) -> list[dict[str, Any]]:
    messages = log_messages(logs, f"/aws/lambda/{function}")
    return [json.loads(m[len(PROCESSED) :]) for m in messages if m.startswith(PROCESSED)]


def test_a_stream_mapping_processes_every_insert_and_quarantines_the_poison_one_by_identity(
    aws_client: Callable[[str], Any],
    resources: Resources,
    table: tuple[str, str],
    ddb_function_zip: bytes,
    localstack_endpoint: str,
) -> None:
    dynamodb, streams, sqs, logs = (aws_client(s) for s in ("dynamodb", "dynamodbstreams", "sqs", "logs"))
    name, stream_arn = table
    quarantine = resources.queue(f"{name}-quarantine")
    function = resources.function(
        f"{name}-fn",
        ddb_function_zip,
        handler="ddb_app.lambda_handler",
        memory_mb=256,
        environment={"SHARDSAFE_QUARANTINE_QUEUE_URL": quarantine},
    )
    resources.mapping(stream_arn, function, batch_size=5)

    good = [f"good-{n}" for n in range(9)]
    for pk in good[:4]:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}, "v": {"S": pk.upper()}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "bad-1"}, "poison": {"BOOL": True}})
    for pk in good[4:]:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}, "v": {"S": pk.upper()}})
    dynamodb.update_item(  # a MODIFY, which the function skips: not processed, not quarantined
        TableName=name,
        Key={"pk": {"S": "good-0"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "changed"}},
    )
    written = {
        r["dynamodb"]["Keys"]["pk"]["S"]: r
        for r in read_stream(streams, stream_arn)
        if r["eventName"] == "INSERT"
    }

    lines = wait_for(
        lambda: (found := processed_lines(logs, function)) and len(found) >= len(good) and found,
        "every good INSERT to be processed",
    )
    messages = wait_for(
        lambda: sqs.receive_message(QueueUrl=quarantine, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages"
        ),
        "the poison record's quarantine message",
    )

    processed = {line["pk"]: line for line in lines}
    assert len(lines) == len(processed) == len(good), "each good INSERT processed exactly once"
    assert set(processed) == set(good)
    for pk in good:
        assert processed[pk]["seq"] == written[pk]["dynamodb"]["SequenceNumber"], pk
        assert processed[pk]["arn"] == stream_arn
        created = processed[pk]["created"]
        assert type(created) is int, "whole epoch seconds, as AWS sends"
    assert len(messages) == 1, [m["Body"] for m in messages]
    envelope = parse_envelope(messages[0]["Body"])
    assert envelope is not None and envelope.payload_base64 is not None
    quarantined = json.loads(envelope.payload_bytes() or b"")
    poison = written["bad-1"]
    assert quarantined["eventID"] == poison["eventID"]
    assert quarantined["dynamodb"]["SequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert quarantined["dynamodb"]["NewImage"] == {"pk": {"S": "bad-1"}, "poison": {"BOOL": True}}
    assert (quarantined["eventSource"], quarantined["eventSourceARN"]) == ("aws:dynamodb", stream_arn)
    assert envelope.record["sequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert "a poison item: bad-1" in envelope.error_message
