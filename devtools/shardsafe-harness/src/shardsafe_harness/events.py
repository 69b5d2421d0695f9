"""Kinesis records shaped like what Lambda hands a function, for the tests' factories and the benchmarks.

One builder, so the tests and the benchmarks feed the handler the same shape.
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = ["FIRST_SEQUENCE", "SHARD_ID", "STREAM_ARN", "kinesis_record"]

STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/ticks"
SHARD_ID = "shardId-000000000000"
FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588802
ARRIVAL = 1704067200.123


def kinesis_record(
    data: bytes = b"",
    *,
    sequence: int = 0,
    raw_data: str | None = None,
    partition_key: str = "AMZN",
    shard_id: str = SHARD_ID,
    stream_arn: str = STREAM_ARN,
) -> dict[str, Any]:
    """The ``sequence``-th record of a shard; ``data`` is base64-encoded for you, ``raw_data`` goes in as it is."""
    sequence_number = str(FIRST_SEQUENCE + sequence)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": raw_data if raw_data is not None else base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": ARRIVAL + sequence,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::000000000000:role/shardsafe",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream_arn,
    }
