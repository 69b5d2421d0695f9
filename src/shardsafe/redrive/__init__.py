"""Redrive a failure queue: recover each failed record and put it back on a stream, or into a file.

The library behind ``shardsafe redrive``; nothing here imports boto3 (the caller passes clients).
A Lambda on-failure message names a batch by shard and sequence numbers, whose records are read back
from the stream while it retains them; a shardsafe quarantine envelope carries its record (or its
hash, when it was too big for SQS). A message is deleted only once every record it stands for is
written. The parts: `shardsafe.failures` reads the messages, `recovery` gets their records back,
`decide` says what happens to each message and why, `targets` write, `loop` receives from SQS.

    from shardsafe.aws import make_client
    from shardsafe.redrive import FileTarget, redrive, resolve_queue_url

    sqs, kinesis = make_client("sqs"), make_client("kinesis")
    queue_url = resolve_queue_url(sqs, "ticks-on-failure")
    result = redrive(sqs, kinesis, queue_url, FileTarget(Path("failed.jsonl")))
    print(result.summary())
"""

from __future__ import annotations

from shardsafe.redrive.decide import Action, Decision, RedriveFilter, decide
from shardsafe.redrive.loop import ReceivedMessage, redrive, resolve_queue_url
from shardsafe.redrive.recovery import RecoveredRecord, Recovery, Unrecoverable, recover
from shardsafe.redrive.stream_reader import read_sequence_range
from shardsafe.redrive.summary import MessageOutcome, RedriveResult
from shardsafe.redrive.targets import FileTarget, StreamTarget, Target

__all__ = [
    "Action",
    "Decision",
    "FileTarget",
    "MessageOutcome",
    "ReceivedMessage",
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
    "resolve_queue_url",
]
