"""Redrive on the embedded LocalStack: a failed batch and quarantined records (one too big for SQS)
are recovered from a real stream, to a file and back to the stream, every record byte-identical and
none twice, and their messages deleted.

The on-failure message is built from the real stream coordinates of records put with
`shardsafe produce`, in the shape Lambda (and LocalStack) send; the deployed pipeline is not needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.resources import Resources

from shardsafe.core.quarantine.batching import string_attributes
from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.ops.produce import ProducedRecord, generate_records, produce
from shardsafe.ops.redrive import FileTarget, StreamTarget, redrive

SHARDSAFE = Path(sys.executable).with_name("shardsafe")
BATCH_SIZE = 40
DEADLINE_S = 60.0


@dataclass
class Scenario:
    stream: str
    stream_arn: str
    queue_url: str
    produced: list[ProducedRecord]
    data: dict[str, bytes]  # sequence number -> the bytes produced
    expected: list[ProducedRecord]  # every record the failure messages stand for, in order
    bodies: list[tuple[str, dict[str, Any]]]  # (body, message attributes) of the failure messages


def wait_for(check: Callable[[], bool], what: str) -> None:
    give_up = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out after {DEADLINE_S} s waiting for {what}")
        time.sleep(0.2)


def queue_depth(sqs: Any, queue_url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def read_stream(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Every record on the stream, shard by shard, in sequence order."""
    records: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            records += [{**r, "ShardId": shard["ShardId"]} for r in page["Records"]]
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    return records


def send_failures(sqs: Any, scenario: Scenario) -> None:
    for body, attributes in scenario.bodies:
        sqs.send_message(QueueUrl=scenario.queue_url, MessageBody=body, MessageAttributes=attributes)
    wait_for(lambda: queue_depth(sqs, scenario.queue_url)[0] == len(scenario.bodies), "the failure messages")


def on_failure_body(scenario_arn: str, batch: list[ProducedRecord]) -> str:
    """Lambda's on-failure record for ``batch``, as LocalStack's stream poller writes it."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:crashing",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 3,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": now,
            "KinesisBatchInfo": {
                "shardId": batch[0].shard_id,
                "startSequenceNumber": batch[0].sequence_number,
                "endSequenceNumber": batch[-1].sequence_number,
                "approximateArrivalOfFirstRecord": now,
                "approximateArrivalOfLastRecord": now,
                "batchSize": len(batch),
                "streamArn": scenario_arn,
            },
        }
    )


def quarantine_message(stream_arn: str, record: ProducedRecord, data: bytes) -> tuple[str, dict[str, Any]]:
    envelope = build_envelope(
        reason="invalid_json",
        payload=data,
        record={
            "eventSource": "aws:kinesis",
            "eventSourceArn": stream_arn,
            "shardId": record.shard_id,
            "sequenceNumber": record.sequence_number,
            "partitionKey": record.partition_key,
            "approximateArrivalTimestamp": time.time(),
        },
        error_type="json.decoder.JSONDecodeError",
        error_message="Expecting value",
        function_name="ticks",
        request_id=str(uuid.uuid4()),
    )
    return envelope.to_body(), string_attributes(envelope)


@pytest.fixture
def scenario(resources: Resources) -> Scenario:
    """A 2-shard stream with produced records, a failure queue, and failure messages to send to it."""
    kinesis = resources.client("kinesis")
    name = resources.name("redrive")
    stream_arn = resources.stream(name, shards=2)
    queue_url = resources.queue(f"{name}-failures")
    records = list(generate_records(300, poison=0.1, keys=8, seed=11))
    result = produce(kinesis, name, records)
    assert result.failed == 0, result.summary()
    data = {
        p.sequence_number: r.data for p, r in zip(result.records, records, strict=True) if p.sequence_number
    }

    # The crashed batch: BATCH_SIZE consecutive records of one shard, neither its first nor its last.
    shard = result.records[0].shard_id
    in_shard = sorted(
        (p for p in result.records if p.shard_id == shard), key=lambda p: int(p.sequence_number or 0)
    )
    batch = in_shard[5 : 5 + BATCH_SIZE]
    assert len(batch) == BATCH_SIZE, "the seed puts enough records on the first record's shard"
    # Quarantined records: one small poison record inline, one oversized one kept only by hash.
    small = next(p for p in result.records if p.kind == "truncated_json" and p not in batch)
    oversized = next(p for p in result.records if p.kind == "oversized" and p not in batch)
    bodies = [
        (on_failure_body(stream_arn, batch), {}),
        quarantine_message(stream_arn, small, data[small.sequence_number or ""]),
        quarantine_message(stream_arn, oversized, data[oversized.sequence_number or ""]),
    ]
    assert "base64" not in json.loads(bodies[2][0])["payload"], "the oversized record is kept by hash only"
    return Scenario(name, stream_arn, queue_url, result.records, data, [*batch, small, oversized], bodies)


def test_dry_run_shows_every_message_and_leaves_the_queue_as_it_was(scenario, aws_client, tmp_path):
    sqs, kinesis = aws_client("sqs"), aws_client("kinesis")
    send_failures(sqs, scenario)
    out = tmp_path / "dry.jsonl"

    result = redrive(sqs, kinesis, scenario.queue_url, FileTarget(out), dry_run=True, wait_time_s=0)

    assert [o.action for o in result.outcomes] == ["would delete"] * 3
    assert result.records_recovered == len(scenario.expected)
    assert not out.exists()
    wait_for(lambda: queue_depth(sqs, scenario.queue_url) == (3, 0), "the messages to be visible again")


def test_redrive_to_a_file_recovers_every_record_byte_identical_once_and_deletes_the_messages(
    scenario, aws_client, localstack_endpoint, tmp_path
):
    sqs = aws_client("sqs")
    send_failures(sqs, scenario)
    out = tmp_path / "failed.jsonl"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

    run = subprocess.run(
        [
            str(SHARDSAFE),
            "redrive",
            "--queue",
            scenario.queue_url,
            "--to-file",
            str(out),
            "--wait-seconds",
            "0",
            "--endpoint-url",
            localstack_endpoint,
            "--region",
            "us-east-1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"records recovered {len(scenario.expected)}" in run.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    recovered = [(line["shardId"], line["sequenceNumber"]) for line in lines]
    assert recovered == [(p.shard_id, p.sequence_number) for p in scenario.expected], (
        "all, in order, none twice"
    )
    for line, produced in zip(lines, scenario.expected, strict=True):
        assert base64.b64decode(line["data"]) == scenario.data[produced.sequence_number or ""]
        assert line["sha256"] == produced.sha256
        assert line["partitionKey"] == produced.partition_key
    assert queue_depth(sqs, scenario.queue_url) == (0, 0), "every message deleted"


def test_redrive_to_the_stream_reputs_every_record_once_with_its_partition_key_in_order(scenario, aws_client):
    sqs, kinesis = aws_client("sqs"), aws_client("kinesis")
    send_failures(sqs, scenario)
    before = {r["SequenceNumber"] for r in read_stream(kinesis, scenario.stream)}

    result = redrive(sqs, kinesis, scenario.queue_url, StreamTarget(kinesis), wait_time_s=0, page_limit=7)

    assert result.clean, result.summary()
    assert result.records_reput == len(scenario.expected)
    new = [r for r in read_stream(kinesis, scenario.stream) if r["SequenceNumber"] not in before]
    as_put = sorted((hashlib.sha256(r["Data"]).hexdigest(), r["PartitionKey"]) for r in new)
    assert as_put == sorted((p.sha256, p.partition_key) for p in scenario.expected), (
        "byte-identical, none twice"
    )
    for key in {p.partition_key for p in scenario.expected}:
        reput = [r["Data"] for r in new if r["PartitionKey"] == key]  # read back in sequence order
        original = [
            scenario.data[p.sequence_number or ""] for p in scenario.expected if p.partition_key == key
        ]
        assert reput == original, f"order of partition key {key} kept"
    assert queue_depth(sqs, scenario.queue_url) == (0, 0), "every message deleted"


def test_produce_command_manifest_accounts_for_every_record_on_the_stream(
    resources, localstack_endpoint, tmp_path
):
    kinesis = resources.client("kinesis")
    name = resources.name("produce")
    resources.stream(name, shards=2)
    manifest = tmp_path / "put.jsonl"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": localstack_endpoint,
    }
    run = subprocess.run(
        [
            str(SHARDSAFE),
            "produce",
            "--stream",
            name,
            "--count",
            "400",
            "--poison",
            "5%",
            "--seed",
            "2",
            "--manifest",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("put 400 of 400 records")
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    on_stream = {
        (r["ShardId"], r["SequenceNumber"]): hashlib.sha256(r["Data"]).hexdigest()
        for r in read_stream(kinesis, name)
    }
    assert {(line["shardId"], line["sequenceNumber"]): line["sha256"] for line in lines} == on_stream
    assert sum(line["kind"] != "good" for line in lines) == 20
