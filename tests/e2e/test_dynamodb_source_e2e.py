"""examples/dynamodb-stream deployed on LocalStack: every item written to the table ends in one place.

Good items and poison items (a kind the function refuses) are written to the example's table; the
table's stream is the function's source. Each item is followed by its key: a good one must be
processed (its stream record, whose new image is the item as written, in the output bucket) and a
poison one quarantined (the stream record in a shardsafe envelope on the quarantine queue, the same
bytes the function was given), each exactly once, and nothing may be given up on (the failure
bucket stays empty). Needs DynamoDB and DynamoDB Streams in the LocalStack under test: the embedded
one serves them with moto (shardsafe_localstack's DynamoDB provider).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.stack import deployed_example

from shardsafe import parse_envelope
from tests.e2e import source_handler

pytestmark = pytest.mark.terraform  # its stacks are applied with Terraform: scheduled first

GOOD = 40
POISON = 10
DEADLINE_S = 240.0


@dataclass
class TableLoad:
    """What was written, by key, and what the pipeline left."""

    good: dict[str, dict[str, Any]]
    poison: dict[str, dict[str, Any]]
    processed: dict[str, bytes] = field(default_factory=dict)
    quarantined: dict[str, list[bytes]] = field(default_factory=dict)
    unknown_quarantined: list[bytes] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)


def items() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    good = {
        f"good-{n}": {"pk": {"S": f"good-{n}"}, "kind": {"S": "good"}, "n": {"N": str(n)}}
        for n in range(GOOD)
    }
    poison = {f"refused-{n}": {"pk": {"S": f"refused-{n}"}, "kind": {"S": "refused"}} for n in range(POISON)}
    return good, poison


def _new_image_key(payload: bytes) -> str | None:
    try:
        return str(json.loads(payload)["dynamodb"]["NewImage"]["pk"]["S"])
    except (ValueError, KeyError, TypeError):
        return None


@pytest.fixture(scope="module")
def table_load(
    localstack_endpoint: str,
    source_handler_zip: Path,
    aws_client: Callable[[str], Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TableLoad]:
    """examples/dynamodb-stream deployed, its table written once, and read until every item is accounted for."""
    zip_path = source_handler_zip
    prefix = f"ss-{uuid.uuid4().hex[:8]}"
    s3, sqs, dynamodb = aws_client("s3"), aws_client("sqs"), aws_client("dynamodb")
    bucket = f"{prefix}-output"
    s3.create_bucket(Bucket=bucket)
    variables: dict[str, object] = {
        "name": f"{prefix}-table",
        "function_zip_path": str(zip_path),
        "handler": source_handler.HANDLER,
        "batch_size": 10,
        "force_destroy": True,
        "tracing_mode": "PassThrough",
        "environment_variables": {"E2E_OUTPUT_BUCKET": bucket},
        "role_policy_statements": {
            "WriteOutput": {
                "actions": ["s3:PutObject"],
                "resources": [f"arn:aws:s3:::{bucket}/*"],
                "acknowledge_wildcard": True,  # every object of the output bucket
            }
        },
    }
    try:
        with deployed_example(
            "dynamodb-stream", localstack_endpoint, tmp_path_factory.mktemp("ddb"), variables
        ) as outputs:
            good, poison = items()
            load = TableLoad(good=good, poison=poison, outputs=outputs)
            for item in (good | poison).values():
                dynamodb.put_item(TableName=outputs["table_name"], Item=item)
            _collect(load, s3, sqs, bucket)
            yield load
    finally:
        for key in source_handler.read_outcomes(s3, bucket, ""):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)


def _collect(load: TableLoad, s3: Any, sqs: Any, bucket: str) -> None:
    give_up = time.monotonic() + DEADLINE_S
    while True:
        load.processed = source_handler.read_outcomes(s3, bucket, source_handler.PROCESSED_PREFIX)
        for message in sqs.receive_message(
            QueueUrl=load.outputs["quarantine_queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=900
        ).get("Messages", []):
            envelope = parse_envelope(message["Body"])
            payload = (envelope.payload_bytes() if envelope else None) or message["Body"].encode()
            key = _new_image_key(payload)
            if key in load.poison:
                load.quarantined.setdefault(key, []).append(payload)
            else:
                load.unknown_quarantined.append(payload)
        load.given_up = list(
            source_handler.read_outcomes(s3, load.outputs["failure_bucket_name"], "aws/lambda/")
        )
        if set(load.processed) == set(load.good) and set(load.quarantined) == set(load.poison):
            return
        if time.monotonic() >= give_up:
            return
        time.sleep(1.0)


def test_every_good_item_is_processed_with_its_stream_record(table_load: TableLoad) -> None:
    missing = sorted(set(table_load.good) - set(table_load.processed))
    assert not missing, f"items never processed: {missing}"
    for key, item in table_load.good.items():
        record = json.loads(table_load.processed[key])
        assert record["eventName"] == "INSERT", key
        assert record["dynamodb"]["NewImage"] == item, (
            f"{key}: the processed record's new image is not the item written"
        )
        assert record["dynamodb"]["Keys"] == {"pk": item["pk"]}, key


def test_every_poison_item_is_quarantined_once_with_its_stream_record(table_load: TableLoad) -> None:
    assert set(table_load.quarantined) == set(table_load.poison), (
        f"poison never quarantined: {sorted(set(table_load.poison) - set(table_load.quarantined))}"
    )
    twice = {key: len(copies) for key, copies in table_load.quarantined.items() if len(copies) != 1}
    assert not twice, f"quarantined more than once: {twice}"
    for key, (payload,) in table_load.quarantined.items():
        assert json.loads(payload)["dynamodb"]["NewImage"] == table_load.poison[key], key
    assert not table_load.unknown_quarantined, (
        f"quarantined payloads of no poison item: {table_load.unknown_quarantined[:3]}"
    )


def test_nothing_is_processed_twice_over_or_given_up_on(table_load: TableLoad) -> None:
    assert not set(table_load.processed) & set(table_load.poison), "poison was processed"
    assert not set(table_load.quarantined) & set(table_load.good), "good items were quarantined"
    assert not table_load.given_up, f"the mapping gave up on batches: {table_load.given_up}"
