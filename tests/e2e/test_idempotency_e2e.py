"""The idempotency layer deployed on the embedded LocalStack, with a real DynamoDB table (moto-served),
a real stream, real crashes and Lambda's (the plugin's) bisection and retries.

- A batch of 10 records on one shard; the 7th kills the process the first time it is handled, after the
  six before it were acted on. Lambda retries the batch split in two. With the layer, every record's
  side effect happens exactly once; without it (the same function, no table), the six acted on before
  the crash are acted on again, so the test can fail.
- Two invocations race on one record: the second finds it claimed by the first and hands it back; once
  the first is done, a third delivery skips it.

A side effect is an S3 object ``effects/<id>/<unique>`` (tests/e2e/idempotency_handler.py); each test
makes its own stream, bucket, table and function, named by a fresh prefix.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness import paths
from shardsafe_harness.logs import log_messages
from shardsafe_harness.resources import Resources

from tests.e2e import idempotency_handler, shared_run
from tests.e2e.esm_support import wait_until
from tests.e2e.shared_run import RUN_DIR

RECORDS = 10
CRASH_AT = 6  # the 7th record: six are acted on before the process dies
CRASH_TIMEOUT_S = 8  # short, so that the dead invocation's claims end soon
RETRIES = 10
DEADLINE_S = 180


@pytest.fixture(scope="session")
def idempotency_zip(lambda_zip: Path, request: pytest.FixtureRequest) -> Path:
    """The Lambda zip plus tests/e2e/idempotency_handler.py (built once per run, whatever the workers)."""
    from shardsafe.ops.packaging import add_to_zip

    return shared_run.once(
        request.config.stash[RUN_DIR],
        "idempotency-handler-zip",
        lambda: add_to_zip(
            lambda_zip,
            {"idempotency_handler.py": Path(idempotency_handler.__file__)},
            paths.BUILD / "e2e" / "lambda-idempotency.zip",
        ),
    )


def create_table(resources: Resources) -> str:
    """An idempotency table in Powertools' layout, as the module makes it; deleted after the test."""
    dynamodb = resources.client("dynamodb")
    name = resources.name("idempotency")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    resources.cleanups.append(lambda: dynamodb.delete_table(TableName=name))
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    return name


def function(resources: Resources, zip_path: Path, *, table: str | None, timeout: int) -> tuple[str, str]:
    """The function, with its effects bucket and, if ``table``, the idempotency layer on it."""
    bucket = resources.bucket(resources.name("effects"))
    environment = {"E2E_EFFECTS_BUCKET": bucket}
    if table is not None:
        environment["SHARDSAFE_IDEMPOTENCY_TABLE"] = table
    name = resources.function(
        resources.name("fn"),
        zip_path.read_bytes(),
        handler=idempotency_handler.HANDLER,
        timeout=timeout,
        memory_mb=256,
        environment=environment,
    )
    return name, bucket


def effects(resources: Resources, bucket: str) -> Counter[str]:
    """How many times each record id was acted on."""
    s3 = resources.client("s3")
    counts: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=idempotency_handler.EFFECTS_PREFIX
    ):
        for item in page.get("Contents", []):
            counts[item["Key"].split("/")[1]] += 1
    return counts


def crashed(resources: Resources, bucket: str) -> list[str]:
    listed = resources.client("s3").list_objects_v2(Bucket=bucket, Prefix=idempotency_handler.CRASHED_PREFIX)
    return [item["Key"].split("/")[1] for item in listed.get("Contents", [])]


def summaries(resources: Resources, name: str) -> list[dict[str, Any]]:
    lines = []
    for message in log_messages(resources.client("logs"), f"/aws/lambda/{name}"):
        if message.startswith("{") and '"shardsafe.batch"' in message:
            lines.append(json.loads(message))
    return lines


@pytest.mark.parametrize("layer", ["on", "off"])
def test_after_a_crash_retried_and_bisected_each_record_is_acted_on_once_with_the_layer(
    layer: str, resources: Resources, idempotency_zip: Path
) -> None:
    table = create_table(resources) if layer == "on" else None
    name, bucket = function(resources, idempotency_zip, table=table, timeout=CRASH_TIMEOUT_S)
    stream_name = resources.name("stream")
    stream_arn = resources.stream(stream_name, 1)
    kinesis = resources.client("kinesis")
    ids = [f"r{n}" for n in range(RECORDS)]
    records = [
        {"id": record_id, **({"crash_once": True} if n == CRASH_AT else {})}
        for n, record_id in enumerate(ids)
    ]
    put = kinesis.put_records(
        StreamName=stream_name,
        Records=[{"Data": json.dumps(record).encode(), "PartitionKey": "one"} for record in records],
    )
    assert put["FailedRecordCount"] == 0
    resources.mapping(
        stream_arn, name, RECORDS, BisectBatchOnFunctionError=True, MaximumRetryAttempts=RETRIES
    )

    wait_until(lambda: set(effects(resources, bucket)) >= set(ids), DEADLINE_S, "every record acted on")
    # A record put after the batch is handled only once Lambda is done with the batch, retries included.
    kinesis.put_record(StreamName=stream_name, Data=json.dumps({"id": "after"}).encode(), PartitionKey="one")
    wait_until(lambda: "after" in effects(resources, bucket), DEADLINE_S, "the record put after the batch")

    assert crashed(resources, bucket) == [ids[CRASH_AT]], "the process must have died on the 7th record"
    counts = effects(resources, bucket)
    if layer == "on":
        assert counts == Counter(dict.fromkeys([*ids, "after"], 1)), f"acted on more than once: {counts}"
        wait_until(
            lambda: sum(line["skipped"] for line in summaries(resources, name)) >= CRASH_AT,
            60,
            "the retries of the records done before the crash skipped, in the summary lines",
        )
    else:
        # Without the layer the six acted on before the crash are acted on again by the split retries.
        expected = {record_id: 2 if n < CRASH_AT else 1 for n, record_id in enumerate(ids)}
        assert counts == Counter({**expected, "after": 1}), f"without the layer: {counts}"


def test_two_invocations_racing_on_one_record_the_second_hands_it_back(
    resources: Resources, idempotency_zip: Path
) -> None:
    table = create_table(resources)
    name, bucket = function(resources, idempotency_zip, table=table, timeout=30)
    functions, dynamodb = resources.client("lambda"), resources.client("dynamodb")
    message_id = "5d2b3c4a-race-0000-0000-000000000001"
    event = {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": "handle",
                "body": json.dumps({"id": "race", "hold": 4}),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{resources.name('queue')}",
                "awsRegion": "us-east-1",
            }
        ]
    }

    def invoke() -> dict[str, Any]:
        response = functions.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        assert "FunctionError" not in response, response["Payload"].read()
        answer: dict[str, Any] = json.loads(response["Payload"].read())
        return answer

    first: list[dict[str, Any]] = []
    racing = threading.Thread(target=lambda: first.append(invoke()))
    racing.start()
    try:
        claimed: Callable[[], bool] = lambda: any(  # noqa: E731
            item["status"]["S"] == "INPROGRESS" for item in dynamodb.scan(TableName=table)["Items"]
        )
        wait_until(claimed, 60, "the first invocation's claim on the record", poll_s=0.1)
        second = invoke()
    finally:
        racing.join(timeout=120)

    assert second == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert first == [{"batchItemFailures": []}]
    assert effects(resources, bucket) == Counter({"race": 1})
    assert invoke() == {"batchItemFailures": []}, "delivered once more, after the first finished: skipped"
    assert effects(resources, bucket) == Counter({"race": 1})
    wait_until(lambda: len(summaries(resources, name)) >= 3, 60, "three summary lines in the function's log")
    outcomes = [
        (line["processed"], line["skipped"], line["handed_back"]) for line in summaries(resources, name)
    ]
    assert sorted(outcomes) == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]
