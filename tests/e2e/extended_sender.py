"""Send SQS messages with AWS's extended client (``amazon-sqs-extended-client``), as a producer would.

Run in a process of its own (``python -m tests.e2e.extended_sender < SPEC``): importing the client replaces
boto3's Session class for the whole process, which no other test should inherit. SPEC, on stdin, is JSON:
``{"queue_url": ..., "messages": [{"body": ..., "bucket": ..., "legacy": false, "always_through_s3": true}]}``;
the endpoint and credentials come from the environment (``AWS_ENDPOINT_URL``). Prints the message ids, in order,
as a JSON list.
"""

from __future__ import annotations

import json
import sys

import boto3
import sqs_extended_client  # noqa: F401 - extends boto3's SQS client (send_message offloads to S3)


def main() -> int:
    spec = json.load(sys.stdin)
    ids = []
    for message in spec["messages"]:
        sqs = boto3.client("sqs")
        sqs.large_payload_support = message["bucket"]
        sqs.always_through_s3 = message.get("always_through_s3", False)
        sqs.use_legacy_attribute = message.get("legacy", False)
        ids.append(sqs.send_message(QueueUrl=spec["queue_url"], MessageBody=message["body"])["MessageId"])
    print(json.dumps(ids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
