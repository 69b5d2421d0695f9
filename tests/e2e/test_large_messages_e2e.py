"""Messages written by AWS's SQS extended client, read by shardsafe's handler on the embedded LocalStack.

The extended client (``amazon-sqs-extended-client``, in its own process: tests/e2e/extended_sender.py)
sends to a queue: a payload over SQS's 256 KiB (offloaded to S3 as the client does by itself), small ones
sent through S3 on purpose, one with the legacy pointer class and size attribute, and one sent inline.
Two more are poison: one whose S3 object is deleted before the function runs (``pointer_not_found``) and
one offloaded to a bucket the function is not given (``pointer_refused``, SHARDSAFE_LARGE_MESSAGE_BUCKETS).
The function (tests/e2e/source_handler.py on shardsafe's zip) names each output object after the id in
the data it was given, so an object ``processed/<id>`` shows the handler got the payload, not the
pointer; the object holds the record's payload, which must be the body as delivered (the pointer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shardsafe_harness import paths
from shardsafe_harness.resources import Resources

from shardsafe import parse_envelope, reasons
from tests.e2e import source_handler

DEADLINE_S = 180.0
NEW_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
OLD_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer"


def body(message_id: str, padding: int = 0) -> str:
    return json.dumps({"id": message_id, "kind": "good", "padding": "x" * padding}, separators=(",", ":"))


def send_with_extended_client(endpoint: str, queue_url: str, messages: list[dict[str, Any]]) -> list[str]:
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    spec = json.dumps({"queue_url": queue_url, "messages": messages})
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.extended_sender"],
        input=spec, cwd=paths.REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    ids: list[str] = json.loads(done.stdout.splitlines()[-1])
    return ids


def test_messages_the_extended_client_offloads_are_read_from_s3_and_its_failures_quarantined(
    resources: Resources, source_handler_zip: Path, localstack_endpoint: str
) -> None:
    s3, sqs, functions = resources.client("s3"), resources.client("sqs"), resources.client("lambda")
    allowed, elsewhere = (
        resources.bucket(resources.name("payloads")),
        resources.bucket(resources.name("other")),
    )
    output = resources.bucket(resources.name("output"))
    queue_url = resources.queue(resources.name("source"))
    quarantine_url = resources.queue(resources.name("quarantine"))

    good = {
        "large-0": {"body": body("large-0", 300_000), "bucket": allowed},  # over 256 KiB: offloaded by itself
        "through-1": {"body": body("through-1"), "bucket": allowed, "always_through_s3": True},
        "legacy-2": {"body": body("legacy-2"), "bucket": allowed, "always_through_s3": True, "legacy": True},
        "inline-3": {"body": body("inline-3"), "bucket": allowed},  # small: sent as it is
    }
    poison = {
        "gone-4": {"body": body("gone-4"), "bucket": allowed, "always_through_s3": True},
        "elsewhere-5": {"body": body("elsewhere-5"), "bucket": elsewhere, "always_through_s3": True},
    }
    ids = dict(
        zip(
            [*good, *poison],
            send_with_extended_client(localstack_endpoint, queue_url, [*good.values(), *poison.values()]),
            strict=True,
        )
    )

    # what the client put in S3: the payloads, one object each; the gone one is deleted before it is read
    offloaded = {
        item["Key"]: s3.get_object(Bucket=allowed, Key=item["Key"])["Body"].read()
        for item in s3.list_objects_v2(Bucket=allowed).get("Contents", [])
    }
    by_payload = {payload: key for key, payload in offloaded.items()}
    assert set(by_payload) == {
        good[name]["body"].encode() for name in ("large-0", "through-1", "legacy-2")
    } | {poison["gone-4"]["body"].encode()}
    gone_key = by_payload[poison["gone-4"]["body"].encode()]
    s3.delete_object(Bucket=allowed, Key=gone_key)
    [elsewhere_object] = s3.list_objects_v2(Bucket=elsewhere)["Contents"]

    function = resources.function(
        resources.name("fn"),
        source_handler_zip.read_bytes(),
        handler=source_handler.HANDLER,
        environment={
            "E2E_OUTPUT_BUCKET": output,
            "SHARDSAFE_QUARANTINE_QUEUE_URL": quarantine_url,
            "SHARDSAFE_LARGE_MESSAGE_BUCKETS": allowed,
        },
    )
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    mapping = functions.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    resources.cleanups.append(lambda: functions.delete_event_source_mapping(UUID=mapping))

    processed: dict[str, bytes] = {}
    quarantined: dict[str, Any] = {}
    give_up = time.monotonic() + DEADLINE_S
    while (set(processed) != set(good) or len(quarantined) < len(poison)) and time.monotonic() < give_up:
        processed = source_handler.read_outcomes(s3, output, source_handler.PROCESSED_PREFIX)
        for message in sqs.receive_message(
            QueueUrl=quarantine_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            envelope = parse_envelope(message["Body"])
            assert envelope is not None, message["Body"][:500]
            quarantined[envelope.record["messageId"]] = envelope
            sqs.delete_message(QueueUrl=quarantine_url, ReceiptHandle=message["ReceiptHandle"])

    assert set(processed) == set(good), (
        f"processed {sorted(processed)}; quarantined {[(e.reason, e.error_message) for e in quarantined.values()]}"
    )
    # each offloaded record's payload is the body as delivered: the client's pointer, class and all
    for name, cls in (("large-0", NEW_CLASS), ("through-1", NEW_CLASS), ("legacy-2", OLD_CLASS)):
        pointer = json.loads(processed[name])
        assert pointer == [
            cls,
            {"s3BucketName": allowed, "s3Key": by_payload[good[name]["body"].encode()]},
        ], name
    assert processed["inline-3"] == good["inline-3"]["body"].encode()

    assert set(quarantined) == {ids["gone-4"], ids["elsewhere-5"]}
    gone, refused = quarantined[ids["gone-4"]], quarantined[ids["elsewhere-5"]]
    assert gone.reason == reasons.POINTER_NOT_FOUND
    assert json.loads(gone.payload_bytes() or b"") == [
        NEW_CLASS,
        {"s3BucketName": allowed, "s3Key": gone_key},
    ]
    assert refused.reason == reasons.POINTER_REFUSED
    assert json.loads(refused.payload_bytes() or b"") == [
        NEW_CLASS,
        {"s3BucketName": elsewhere, "s3Key": elsewhere_object["Key"]},
    ]
    assert f"names bucket {elsewhere!r}" in refused.error_message
