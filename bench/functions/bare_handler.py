"""The floor for the end-to-end benchmark: decode and parse each record, list the failures, nothing else."""

import base64
import json


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            json.loads(base64.b64decode(record["kinesis"]["data"]))
        except ValueError:
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failures}
