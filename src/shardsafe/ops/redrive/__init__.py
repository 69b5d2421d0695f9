"""Redrive a failure queue or bucket, or a dead-letter queue: recover each failed record and put it back
on a stream, into a function, onto a queue, or into a file.

The library behind ``shardsafe redrive``; nothing here imports boto3 (the caller passes clients).
A Lambda on-failure message names a batch by shard and sequence numbers, whose records are read back
from the stream while it retains them; Lambda's S3 on-failure object carries the records themselves.
A DynamoDB stream's records cannot be put back on it (only its table writes it): they go to a
function or a file. A dead-letter queue's messages go back to a queue. A shardsafe quarantine envelope carries its record, or points at the S3 object holding it (a claim
check), or keeps only its hash. A message or object is deleted only once every record it stands for
is written. The parts: `shardsafe.ops.failures` reads the messages, `recovery` gets their records back,
`decide` says what happens to each message and why, `settle` does it, `targets` write, `loop`
receives from SQS, `bucket` lists an S3 bucket.

    from shardsafe.ops.aws import make_client
    from shardsafe.ops.redrive import FileTarget, redrive, redrive_bucket, resolve_queue_url

    sqs, s3, kinesis = make_client("sqs"), make_client("s3"), make_client("kinesis")
    queue_url = resolve_queue_url(sqs, "ticks-on-failure")
    result = redrive(sqs, kinesis, queue_url, FileTarget(Path("failed.jsonl")), s3=s3)
    result = redrive_bucket(s3, kinesis, "ticks-failures", FileTarget(Path("failed.jsonl")))
    # A DynamoDB stream's batches, read back with DynamoDB Streams, to the fixed function:
    result = redrive(sqs, kinesis, table_failures_url, FunctionTarget(make_client("lambda"), "orders"),
                     streams=make_client("dynamodbstreams"))
    # A dead-letter queue, back to its source queue:
    result = redrive(sqs, None, dlq_url, QueueTarget(sqs, source_queue_url), dead_letters=True)
    print(result.summary())
"""

from __future__ import annotations

from shardsafe.ops.redrive.bucket import BucketObject, redrive_bucket
from shardsafe.ops.redrive.decide import Action, Decision, RedriveFilter, decide
from shardsafe.ops.redrive.loop import ReceivedMessage, redrive, resolve_queue_url
from shardsafe.ops.redrive.recovery import RecoveredRecord, Recovery, Unrecoverable, recover
from shardsafe.ops.redrive.stream_reader import read_sequence_range
from shardsafe.ops.redrive.summary import MessageOutcome, RecordOutcome, RedriveResult
from shardsafe.ops.redrive.targets import FileTarget, FunctionTarget, QueueTarget, StreamTarget, Target

__all__ = [
    "Action",
    "BucketObject",
    "Decision",
    "FileTarget",
    "FunctionTarget",
    "MessageOutcome",
    "QueueTarget",
    "ReceivedMessage",
    "RecordOutcome",
    "RecoveredRecord",
    "Recovery",
    "RedriveFilter",
    "RedriveResult",
    "StreamTarget",
    "Target",
    "Unrecoverable",
    "decide",
    "read_sequence_range",
    "recover",
    "redrive",
    "redrive_bucket",
    "resolve_queue_url",
]
