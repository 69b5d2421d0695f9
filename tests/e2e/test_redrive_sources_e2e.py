"""Redrive for every source on the embedded LocalStack: DynamoDB stream mappings and SQS dead-letter queues.

- A DynamoDB stream mapped to a crashing function gives up its batches to an SQS queue (coordinates
  only: read back with the DynamoDB Streams API) or an S3 bucket (the records in the object); redrive
  invokes the fixed function with them, or writes them to a file: every record by its event id.
- Bisect on function error works for a DynamoDB stream mapping: one crashing record is all that is
  given up on.
- A dead-letter queue's messages are moved back to their source queue (standard and FIFO) with body,
  message attributes and group id, and deleted from the dead-letter queue.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.resources import Resources

from shardsafe.ops.cli import main
from shardsafe.ops.failures import DeadLetter, FailedBatch, classify
from shardsafe.ops.packaging import add_to_zip
from tests.e2e.test_dynamodb_provider_e2e import FUNCTION, processed_lines, read_stream, wait_for

CRASH = "def handler(event, context):\n    raise RuntimeError('this function crashes on every batch')\n"
CRASH_ON_POISON = """
def handler(event, context):
    for record in event["Records"]:
        if "poison" in record["dynamodb"].get("NewImage", {}):
            raise RuntimeError("poison " + record["dynamodb"]["SequenceNumber"])
    print("BATCH " + ",".join(r["dynamodb"]["SequenceNumber"] for r in event["Records"]), flush=True)
    return {}
"""


def cli(endpoint: str, *argv: str) -> tuple[int, dict[str, Any]]:
    """``shardsafe --output json ...`` in-process against LocalStack, and its JSON summary."""
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json", *argv])
    return status, json.loads(out.getvalue())


def drain(sqs: Any, url: str, expected: int) -> list[dict[str, Any]]:
    """``expected`` messages from ``url`` (received with every attribute and deleted), polled with a deadline."""
    found: list[dict[str, Any]] = []

    def more() -> bool:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(found) >= expected

    wait_for(more, f"{expected} messages on {url}")
    return found


@pytest.fixture
def aws(aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return aws_client


@pytest.fixture
def table(aws: Callable[[str], Any]) -> Iterator[tuple[str, str]]:
    dynamodb = aws("dynamodb")
    name = f"rds-{uuid.uuid4().hex[:10]}"
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield name, created["TableDescription"]["LatestStreamArn"]
    dynamodb.delete_table(TableName=name)


def map_table(
    aws: Callable[[str], Any], resources: Resources, stream_arn: str, function: str, **options: Any
) -> str:
    lam = aws("lambda")
    mapping = lam.create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        MaximumBatchingWindowInSeconds=0,
        **options,
    )["UUID"]
    resources.cleanups.append(lambda: lam.delete_event_source_mapping(UUID=mapping))
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"] == "Enabled", "the mapping")
    return str(mapping)


def put_items(aws: Callable[[str], Any], table: str, keys: list[str]) -> None:
    for pk in keys:
        aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": pk}, "v": {"S": pk.upper()}})


def stop_mapping(aws: Callable[[str], Any], mapping: str) -> None:
    aws("lambda").delete_event_source_mapping(UUID=mapping)
    wait_for(lambda: not _mapping_exists(aws, mapping), "the mapping to be deleted")


def _mapping_exists(aws: Callable[[str], Any], mapping: str) -> bool:
    try:
        aws("lambda").get_event_source_mapping(UUID=mapping)
    except aws("lambda").exceptions.ResourceNotFoundException:
        return False
    return True


def test_dynamodb_batches_given_up_to_a_queue_are_read_back_and_redriven_to_the_fixed_function(
    aws: Callable[[str], Any],
    resources: Resources,
    table: tuple[str, str],
    lambda_zip: Path,
    tmp_path: Path,
    localstack_endpoint: str,
) -> None:
    sqs = aws("sqs")
    name, stream_arn = table
    failures = resources.queue(f"{name}-failures")
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    crashing = resources.function(f"{name}-crash", _zip({"app.py": CRASH}), handler="app.handler")
    mapping = map_table(
        aws,
        resources,
        stream_arn,
        crashing,
        BatchSize=4,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    keys = [f"item-{n}" for n in range(10)]
    put_items(aws, name, keys)
    written = {r["dynamodb"]["SequenceNumber"]: r for r in read_stream(aws("dynamodbstreams"), stream_arn)}

    given_up: dict[str, FailedBatch] = {}

    def every_change_given_up() -> bool:
        # Peeked at, not taken: the messages become visible again at once for the redrive.
        received = sqs.receive_message(QueueUrl=failures, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in received.get("Messages", []):
            batch = classify(message["Body"], message["MessageId"])
            assert isinstance(batch, FailedBatch), batch
            given_up[message["MessageId"]] = batch
        return all(any(b.covers((b.shard_id, int(s))) for b in given_up.values()) for s in written)

    wait_for(every_change_given_up, "failure records covering every change, by sequence number")
    stop_mapping(aws, mapping)
    assert {b.source for b in given_up.values()} == {"dynamodb"}
    assert {b.stream_arn for b in given_up.values()} == {stream_arn}

    fixed = resources.function(
        f"{name}-fixed",
        add_to_zip(lambda_zip, {"ddb_app.py": FUNCTION.encode()}, tmp_path / "fixed.zip").read_bytes(),
        handler="ddb_app.lambda_handler",
        memory_mb=256,
    )
    status, dry = cli(
        localstack_endpoint, "redrive", "--queue", failures, "--to-function", fixed, "--dry-run"
    )
    assert status == 0 and dry["records"]["recovered"] == len(written), dry
    status, summary = cli(localstack_endpoint, "redrive", "--queue", failures, "--to-function", fixed)

    assert status == 0 and summary["clean"], summary
    assert summary["messages"]["deleted"] == len(given_up) and summary["records"]["written"] == len(written)
    lines = wait_for(
        lambda: len(found := processed_lines(aws("logs"), fixed)) >= len(keys) and found,
        "the redriven records",
    )
    processed = {line["seq"]: line for line in lines}
    assert len(lines) == len(processed) == len(written), "each record once"
    for sequence, record in written.items():
        assert processed[sequence]["pk"] == record["dynamodb"]["Keys"]["pk"]["S"]
        assert processed[sequence]["arn"] == stream_arn
    redriven = {r["sequenceNumber"] for o in summary["outcomes"] for r in o["records"] if r["written"]}
    assert redriven == set(written)
    assert (
        int(
            sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        == 0
    )


def test_dynamodb_batch_given_up_to_a_bucket_is_redriven_to_a_file_record_by_record(
    aws: Callable[[str], Any],
    resources: Resources,
    table: tuple[str, str],
    tmp_path: Path,
    localstack_endpoint: str,
) -> None:
    s3 = aws("s3")
    name, stream_arn = table
    s3.create_bucket(Bucket=name)
    resources.cleanups.append(lambda: s3.delete_bucket(Bucket=name))
    crashing = resources.function(f"{name}-crash", _zip({"app.py": CRASH}), handler="app.handler")
    mapping = map_table(
        aws,
        resources,
        stream_arn,
        crashing,
        BatchSize=10,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{name}"}},
    )
    put_items(aws, name, [f"item-{n}" for n in range(6)])
    written = {r["dynamodb"]["SequenceNumber"]: r for r in read_stream(aws("dynamodbstreams"), stream_arn)}
    # Every change given up on, in one object or several: a first poll may catch the table half written.
    wait_for(lambda: sequences_in_objects(s3, name) >= set(written), "objects holding every change")
    stop_mapping(aws, mapping)
    out = tmp_path / "redriven.jsonl"

    status, summary = cli(localstack_endpoint, "redrive", "--bucket", name, "--to-file", str(out))

    assert status == 0 and summary["clean"], summary
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["sequenceNumber"] for line in lines) == sorted(written), summary
    for line in lines:
        record = json.loads(base64.b64decode(line["data"]))
        original = written[line["sequenceNumber"]]
        assert (line["eventSource"], line["streamArn"]) == ("aws:dynamodb", stream_arn)
        assert record["eventID"] == original["eventID"]
        assert record["dynamodb"]["NewImage"] == original["dynamodb"]["NewImage"]
        assert record["eventSourceARN"] == stream_arn
    assert s3.list_objects_v2(Bucket=name).get("KeyCount", 0) == 0, "the object deleted once written"


def sequences_in_objects(s3: Any, bucket: str) -> set[str]:
    """The sequence numbers of the records in Lambda's on-failure objects in ``bucket``."""
    found: set[str] = set()
    for item in s3.list_objects_v2(Bucket=bucket, Prefix="aws/lambda/").get("Contents", []):
        body = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        payload = body["payload"] if isinstance(body["payload"], dict) else json.loads(body["payload"])
        found |= {record["dynamodb"]["SequenceNumber"] for record in payload["Records"]}
    return found


def test_bisect_on_error_gives_up_only_the_crashing_dynamodb_record(
    aws: Callable[[str], Any], resources: Resources, table: tuple[str, str]
) -> None:
    sqs = aws("sqs")
    name, stream_arn = table
    failures = resources.queue(f"{name}-failures")
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function = resources.function(f"{name}-fn", _zip({"app.py": CRASH_ON_POISON}), handler="app.handler")
    put_items(aws, name, ["a", "b", "c"])
    aws("dynamodb").put_item(TableName=name, Item={"pk": {"S": "poison"}, "poison": {"BOOL": True}})
    put_items(aws, name, ["d", "e", "f", "g"])
    poison_record = next(
        r
        for r in read_stream(aws("dynamodbstreams"), stream_arn)
        if r["dynamodb"]["Keys"]["pk"]["S"] == "poison"
    )
    poison = poison_record["dynamodb"]["SequenceNumber"]
    map_table(
        aws,
        resources,
        stream_arn,
        function,
        BatchSize=8,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )

    (message,) = drain(sqs, failures, 1)

    batch = classify(message["Body"])
    assert isinstance(batch, FailedBatch) and batch.source == "dynamodb"
    assert (batch.start, batch.end, batch.size) == (int(poison), int(poison), 1), batch.body
    assert batch.shard_id and batch.stream_arn == stream_arn
    # The record's own creation time, not when it was given up on (LocalStack's poller: "now").
    assert batch.first_arrival == poison_record["dynamodb"]["ApproximateCreationDateTime"]


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_dead_letter_messages_go_back_to_their_source_queue_with_body_attributes_and_group(
    aws: Callable[[str], Any], resources: Resources, localstack_endpoint: str, fifo: bool
) -> None:
    sqs = aws("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    base = f"dlq-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{base}-dead{suffix}", Attributes=fifo_attributes)["QueueUrl"]
    resources.cleanups.append(lambda: sqs.delete_queue(QueueUrl=dlq))
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    source = sqs.create_queue(
        QueueName=f"{base}{suffix}",
        Attributes={**fifo_attributes, "RedrivePolicy": policy, "VisibilityTimeout": "1"},
    )["QueueUrl"]
    resources.cleanups.append(lambda: sqs.delete_queue(QueueUrl=source))
    sent: dict[str, tuple[str, dict[str, Any], str | None]] = {}  # body -> (body, attributes, group)
    for n in range(12):
        body = json.dumps({"n": n, "text": "ünïcödé ✓"})
        attributes = {
            "kind": {"DataType": "String", "StringValue": f"k{n % 3}"},
            "count": {"DataType": "Number", "StringValue": str(n)},
            "blob": {"DataType": "Binary", "BinaryValue": bytes([n, 0, 255])},
        }
        group = f"g{n % 2}" if fifo else None
        extra = {"MessageGroupId": group, "MessageDeduplicationId": f"d{n}"} if fifo else {}
        sqs.send_message(QueueUrl=source, MessageBody=body, MessageAttributes=attributes, **extra)
        sent[body] = (body, attributes, group)
    # Receive every message twice without deleting it: the second receive moves it to the DLQ.
    in_dlq = lambda: int(  # noqa: E731
        sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )

    def receive_and_drop() -> bool:
        sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return in_dlq() == len(sent)

    wait_for(receive_and_drop, "every message in the dead-letter queue")

    status, dry = cli(localstack_endpoint, "redrive", "--dlq", dlq, "--to-queue", "--dry-run")
    # A dry run holds what it read, and SQS hands out no more of a FIFO group while some are held.
    assert status == 0 and 0 < dry["messages"]["read"] == dry["messages"]["deleted"] <= len(sent), dry
    assert all(o["action"] == "would delete" for o in dry["outcomes"])
    wait_for(lambda: in_dlq() == len(sent), "the dry run's messages to be visible again")
    status, summary = cli(localstack_endpoint, "redrive", "--dlq", dlq, "--to-queue")

    assert status == 0 and summary["clean"], summary
    assert summary["target"] == f"queue {source}"
    assert summary["messages"]["deleted"] == len(sent) and summary["records"]["written"] == len(sent)
    back = drain(sqs, source, len(sent))
    assert sorted(m["Body"] for m in back) == sorted(sent), "every message once, body byte-identical"
    for message in back:
        body, attributes, group = sent[message["Body"]]
        got = {
            k: {f: v[f] for f in ("DataType", "StringValue", "BinaryValue") if f in v}
            for k, v in message["MessageAttributes"].items()
        }
        assert got == attributes, body
        assert message["Attributes"].get("MessageGroupId") == group
        letter = DeadLetter.from_sqs(message)
        assert letter.message_attributes == attributes
    if fifo:
        for group in ("g0", "g1"):
            order = [json.loads(m["Body"])["n"] for m in back if m["Attributes"]["MessageGroupId"] == group]
            assert order == sorted(order), f"group {group} in its order"
    assert in_dlq() == 0


def _zip(files: dict[str, str]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, source)
    return buffer.getvalue()
