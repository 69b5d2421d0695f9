"""The Lambda handler of a project that uses shardsafe: ``ticks.handler.lambda_handler``.

shardsafe decodes and validates every record; a record that does not decode, validate or process is
quarantined on its own and the batch goes on. What processed writes one JSON Lines object per batch
and shard to ``s3://$TICKS_OUTPUT_BUCKET/processed/<shardId>/<firstSeq>-<lastSeq>.jsonl``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import attrs

from shardsafe import FieldSchema, Record, RetryableError, StreamProcessor
from ticks.model import Tick

TICK_FIELDS = FieldSchema({"EVENT_TIME": str, "TICKER": str, "PRICE": float})
_s3: Any = None


def process(record: Record) -> dict[str, object]:
    """Your business logic for one valid record: here, the tick as the model has it."""
    return attrs.asdict(Tick.from_record(record.data))


def write_batch(records: list[Record]) -> None:
    """After the batch: what processed, one object per shard; a failed write retries the batch."""
    global _s3  # noqa: PLW0603 - one client per execution environment
    bucket = os.environ["TICKS_OUTPUT_BUCKET"]
    by_shard: dict[str, list[Record]] = {}
    for record in records:
        by_shard.setdefault(record.shard_id or "unknown-shard", []).append(record)
    for shard_id, done in by_shard.items():
        key = f"processed/{shard_id}/{done[0].sequence_number}-{done[-1].sequence_number}.jsonl"
        body = "".join(
            json.dumps(
                {
                    "sequenceNumber": r.sequence_number,
                    "partitionKey": r.partition_key,
                    "data": r.data,
                    "tick": r.result,
                }
            )
            + "\n"
            for r in done
        )
        try:
            if _s3 is None:
                import boto3  # the Lambda runtime provides it

                _s3 = boto3.client("s3")
            _s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        except Exception as error:
            raise RetryableError(f"cannot write s3://{bucket}/{key}: {error}") from error


processor = StreamProcessor(process, batch_handler=write_batch, validate=TICK_FIELDS)


def lambda_handler(event: object, context: object) -> object:
    return processor(event, context)
