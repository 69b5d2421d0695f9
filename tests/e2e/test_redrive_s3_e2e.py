"""Redrive from S3 on LocalStack: a crashed batch kept whole in the failure bucket comes back byte-identical
after its stream is deleted, and a poison record too big for a quarantine message comes back from its
claim check, put there by the real handler.

Built with boto3 directly (no Terraform): a stream, a bucket, a function, and a mapping whose on-failure
destination is the bucket with MaximumRetryAttempts=0, so the first failed invocation writes the object.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shardsafe.ops.cli import main

ROLE = "arn:aws:iam::000000000000:role/lambda-test"
DEADLINE_S = 120
CRASH = "def handler(event, context):\n    raise RuntimeError('this function crashes on every batch')\n"


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after DEADLINE_S."""
    give_up = time.monotonic() + DEADLINE_S
    while not (found := check()):
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {DEADLINE_S} s waiting for {what}")
        time.sleep(0.25)
    return found


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def object_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def stream_gone(kinesis: Any, stream: str) -> bool:
    try:
        kinesis.describe_stream_summary(StreamName=stream)
    except kinesis.exceptions.ResourceNotFoundException:
        return True
    return False


@dataclass
class Rig:
    """What one test built: clients, names, and what was put (sequence number -> (partition key, bytes))."""

    aws: Callable[[str], Any]
    endpoint: str
    stream: str
    stream_arn: str
    bucket: str
    put: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    functions: list[str] = field(default_factory=list)

    def cli(self, *argv: str) -> tuple[int, dict[str, Any]]:
        """``shardsafe --output json ...`` in-process against LocalStack, and its JSON summary."""
        out = io.StringIO()
        with redirect_stdout(out):
            status = main(
                ["--endpoint-url", self.endpoint, "--region", "us-east-1", "--output", "json", *argv]
            )
        return status, json.loads(out.getvalue())


@pytest.fixture
def rig(
    aws_client: Callable[[str], Any], localstack_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    kinesis, s3, lam = aws_client("kinesis"), aws_client("s3"), aws_client("lambda")
    name = f"s3r-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.5})
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    s3.create_bucket(Bucket=name)
    rig = Rig(aws_client, localstack_endpoint, name, arn, name)
    yield rig
    for mapping in lam.list_event_source_mappings(EventSourceArn=arn).get("EventSourceMappings", []):
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    for function in rig.functions:
        lam.delete_function(FunctionName=function)
    if not stream_gone(kinesis, name):
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    for key in object_keys(s3, name):
        s3.delete_object(Bucket=name, Key=key)
    s3.delete_bucket(Bucket=name)


def deploy(rig: Rig, code: bytes, handler: str, environment: dict[str, str] | None = None) -> str:
    lam = rig.aws("lambda")
    name = f"{rig.stream}-fn-{len(rig.functions)}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=30,
        MemorySize=512,
        Environment={"Variables": environment or {}},
    )
    rig.functions.append(name)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.5})
    return name


def map_stream(rig: Rig, function: str, **options: Any) -> None:
    lam = rig.aws("lambda")
    uuid_ = lam.create_event_source_mapping(
        FunctionName=function,
        EventSourceArn=rig.stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=100,
        MaximumRetryAttempts=0,
        **options,
    )["UUID"]
    wait_for(
        lambda: lam.get_event_source_mapping(UUID=uuid_)["State"] == "Enabled", "the mapping to be enabled"
    )


def put(rig: Rig, records: list[tuple[str, bytes]]) -> None:
    response = rig.aws("kinesis").put_records(
        StreamName=rig.stream, Records=[{"PartitionKey": key, "Data": data} for key, data in records]
    )
    assert response["FailedRecordCount"] == 0
    for (key, data), entry in zip(records, response["Records"], strict=True):
        rig.put[entry["SequenceNumber"]] = (key, data)


def delete_stream(rig: Rig) -> None:
    kinesis = rig.aws("kinesis")
    kinesis.delete_stream(StreamName=rig.stream, EnforceConsumerDeletion=True)
    wait_for(lambda: stream_gone(kinesis, rig.stream), "the stream to be deleted")


def records_in_objects(s3: Any, bucket: str) -> int:
    count = 0
    for key in object_keys(s3, bucket, "aws/lambda/"):
        body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        payload = body["payload"] if isinstance(body["payload"], dict) else json.loads(body["payload"])
        count += len(payload["Records"])
    return count


def load() -> list[tuple[str, bytes]]:
    """Records of every shape: JSON, binary, one byte, and big ones; over three partition keys."""
    shapes = [
        b'{"EVENT_TIME": "2026-01-01T00:00:00Z", "TICKER": "AAPL", "PRICE": 1.5}',
        bytes(range(256)),
        b"\x00",
        b"{" + b"z" * 200_000,
        "ünïcödé ✓".encode(),
    ]
    return [(f"key-{i % 3}", shapes[i % len(shapes)] + str(i).encode()) for i in range(15)]


@pytest.fixture
def crashed_batch(rig: Rig) -> Rig:
    """The load put on a stream whose function crashes: its batches land in the bucket; then the stream
    is deleted, so nothing can come from it."""
    s3 = rig.aws("s3")
    function = deploy(rig, zip_of({"app.py": CRASH.encode()}), "app.handler")
    map_stream(rig, function, DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{rig.bucket}"}})
    put(rig, load())
    wait_for(lambda: records_in_objects(s3, rig.bucket) >= len(rig.put), "Lambda's on-failure objects")
    for mapping in rig.aws("lambda").list_event_source_mappings(EventSourceArn=rig.stream_arn)[
        "EventSourceMappings"
    ]:
        rig.aws("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
    delete_stream(rig)
    return rig


def test_crashed_batch_is_redriven_from_the_bucket_to_a_file_byte_identical_after_the_stream_is_gone(
    crashed_batch: Rig, tmp_path: Path
) -> None:
    rig = crashed_batch
    out = tmp_path / "recovered.jsonl"
    objects = object_keys(rig.aws("s3"), rig.bucket, "aws/lambda/")

    status, summary = rig.cli("redrive", "--bucket", rig.bucket, "--to-file", str(out))

    assert status == 0, summary
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    recovered = {line["sequenceNumber"]: line for line in lines}
    assert len(lines) == len(recovered) == len(rig.put), "every record once"
    for sequence, (key, data) in rig.put.items():
        line = recovered[sequence]
        assert base64.b64decode(line["data"]) == data, f"record {sequence} byte-identical"
        assert line["sha256"] == hashlib.sha256(data).hexdigest()
        assert (line["partitionKey"], line["streamArn"]) == (key, rig.stream_arn)
    written = {r["sequenceNumber"]: r["sha256"] for o in summary["outcomes"] for r in o["records"]}
    assert written == {s: hashlib.sha256(d).hexdigest() for s, (_, d) in rig.put.items()}
    assert summary["messages"]["deleted"] == len(objects) and summary["clean"]
    assert object_keys(rig.aws("s3"), rig.bucket) == [], "each object deleted once its records were written"


def test_crashed_batch_is_redriven_from_the_bucket_to_a_new_stream(crashed_batch: Rig) -> None:
    rig = crashed_batch
    kinesis = rig.aws("kinesis")
    replay = f"{rig.stream}-replay"
    kinesis.create_stream(StreamName=replay, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=replay, WaiterConfig={"Delay": 0.5})
    try:
        status, summary = rig.cli("redrive", "--bucket", rig.bucket, "--to-stream", replay)

        assert status == 0, summary
        assert summary["records"]["reput"] == len(rig.put)
        shard = kinesis.list_shards(StreamName=replay)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=replay, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        got = kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        put_in_order = [rig.put[s] for s in sorted(rig.put, key=int)]
        for key in {k for k, _ in put_in_order}:
            assert [bytes(r["Data"]) for r in got if r["PartitionKey"] == key] == [
                d for k, d in put_in_order if k == key
            ], f"partition key {key}: every record, byte-identical, in order"
        assert len(got) == len(rig.put)
        assert object_keys(rig.aws("s3"), rig.bucket) == []
    finally:
        kinesis.delete_stream(StreamName=replay, EnforceConsumerDeletion=True)


def test_poison_record_too_big_for_a_message_is_claim_checked_by_the_handler_and_redriven(
    rig: Rig, tmp_path: Path, lambda_zip: Path
) -> None:
    sqs, s3 = rig.aws("sqs"), rig.aws("s3")
    queue_url = sqs.create_queue(QueueName=f"{rig.stream}-quarantine")["QueueUrl"]
    try:
        function = deploy(
            rig,
            lambda_zip.read_bytes(),  # the package and the template handler, as `make package` builds them
            "handler.lambda_handler",
            {
                "SHARDSAFE_QUARANTINE_QUEUE_URL": queue_url,
                "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES": "262144",
                "SHARDSAFE_CLAIM_CHECK_BUCKET": rig.bucket,
            },
        )
        map_stream(rig, function, FunctionResponseTypes=["ReportBatchItemFailures"])
        poison = b'{"TICKER": "AAPL", "NOTE": "' + bytes(range(128)) * 2400  # 300 KiB, not JSON
        good = b'{"EVENT_TIME": "2026-01-01T00:00:00Z", "TICKER": "AAPL", "PRICE": 1.5}'
        put(rig, [("AAPL", poison), ("AAPL", good)])
        [sequence] = [s for s, (_, d) in rig.put.items() if d == poison]

        def quarantined() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

        wait_for(quarantined, "the poison record's envelope on the quarantine queue")
        [payload_key] = wait_for(
            lambda: object_keys(s3, rig.bucket, "claim-checks/payloads/"), "the claim check"
        )
        assert s3.get_object(Bucket=rig.bucket, Key=payload_key)["Body"].read() == poison
        delete_stream(rig)
        out = tmp_path / "poison.jsonl"

        status, summary = rig.cli(
            "redrive", "--queue", queue_url, "--to-file", str(out), "--wait-seconds", "1"
        )

        assert status == 0, summary
        [line] = [json.loads(line) for line in out.read_text().splitlines()]
        assert base64.b64decode(line["data"]) == poison
        assert (line["sequenceNumber"], line["reason"]) == (sequence, "invalid_json")
        assert summary["messages"]["deleted"] == 1 and summary["warnings"] == []
        assert quarantined() == 0
        assert object_keys(s3, rig.bucket, "claim-checks/") == [], "the claim check deleted after its message"
    finally:
        sqs.delete_queue(QueueUrl=queue_url)
