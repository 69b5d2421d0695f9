"""The SQS receive loop of redrive: receive, classify, filter, recover, write, then delete or release.

Each received message is classified (`shardsafe.ops.failures`), matched against the filters, and its
records recovered (`shardsafe.ops.redrive.recovery`); `shardsafe.ops.redrive.settle` writes each receive's
records to the target in one go and, as `shardsafe.ops.redrive.decide` says, deletes the messages fully
written (and then the S3 object of a claim check among them); this loop makes every other message it
holds (skipped, kept, or only looked at in a dry run) visible again at the end.

    from shardsafe.ops.redrive import FileTarget, redrive
    result = redrive(sqs, kinesis, queue_url, FileTarget(Path("failed.jsonl")))
    print(result.summary())

With ``dead_letters=True`` the queue is a dead-letter queue: each message is the original message SQS
moved there (`shardsafe.ops.failures.DeadLetter`), not a failure record, and is its own one record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shardsafe.ops.aws import error_code
from shardsafe.ops.failures import DeadLetter, FailureMessage, classify
from shardsafe.ops.redrive.decide import RedriveFilter
from shardsafe.ops.redrive.recovery import Recovery
from shardsafe.ops.redrive.settle import delete_claim_check, deleted, log_event, settle, take
from shardsafe.ops.redrive.summary import MessageOutcome, RedriveResult
from shardsafe.ops.redrive.targets import Target

__all__ = ["ReceivedMessage", "redrive", "resolve_queue_url"]

NOT_DELETED = "written, but the message could not be deleted: it will come back; delete it by hand"


@dataclass(frozen=True)
class ReceivedMessage:
    """An SQS message as received: what redrive needs to read, filter and delete it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent_at: datetime | None = None

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> ReceivedMessage:
        attributes = {
            name: str(value.get("StringValue", ""))
            for name, value in message.get("MessageAttributes", {}).items()
        }
        sent = message.get("Attributes", {}).get("SentTimestamp")
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message.get("Body", ""),
            attributes=attributes,
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        )


def resolve_queue_url(sqs: Any, queue: str) -> str:
    """A queue URL from a URL, an ARN (arn:aws:sqs:region:account:name) or a name."""
    if queue.startswith(("http://", "https://")):
        return queue
    if queue.startswith("arn:"):
        *_, account, name = queue.split(":")
        return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
    return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def redrive(
    sqs: Any,
    kinesis: Any,
    queue_url: str,
    target: Target,
    *,
    filters: RedriveFilter | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    accept_partial: bool = False,
    visibility_timeout_s: int = 300,
    wait_time_s: int = 1,
    page_limit: int = 1000,
    s3: Any = None,
    streams: Any = None,
    dead_letters: bool = False,
    on_outcome: Callable[[MessageOutcome], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RedriveResult:
    """Recover the records of every matching message on ``queue_url`` and write them to ``target``.

    A message is deleted once all its records are written. One with records that cannot be
    recovered is kept, and nothing of it written, unless ``accept_partial``: then what could be
    recovered is written and the message deleted (the rest is reported, never silently skipped).
    Messages skipped or kept are made visible again at the end. ``limit`` caps the messages
    redriven. With ``dry_run`` the records are still read, to show what would happen.
    ``page_limit`` is the ``Limit`` of each GetRecords call. ``s3`` (a boto3 S3 client) fetches
    records kept in S3 by a claim check, and deletes each such object once its message is deleted
    (a failed delete is a warning: the bucket's lifecycle expires the object). ``streams`` (a boto3
    ``dynamodbstreams`` client) reads back the batches of DynamoDB stream mappings. ``dead_letters``
    reads the queue as a dead-letter queue (see above).
    ``on_progress(done, total)`` is told how many messages have been read (total None: unknown).
    """
    filters = filters or RedriveFilter()
    kind = "dead-letter queue" if dead_letters else "queue"
    result = RedriveResult(dry_run=dry_run, target=target.description, source=f"{kind} {queue_url}")
    seen: set[str] = set()
    release: list[str] = []
    retention_hours: dict[str, int | None] = {}
    matched = 0
    idle_receives = 0
    while limit is None or matched < limit:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_time_s,
            VisibilityTimeout=visibility_timeout_s,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"] if dead_letters else ["SentTimestamp"],
        )
        raw = {m["MessageId"]: m for m in response.get("Messages", [])}
        received = [ReceivedMessage.from_sqs(m) for m in raw.values()]
        fresh = [m for m in received if m.message_id not in seen]
        release.extend(m.receipt_handle for m in received if m.message_id in seen)
        if not fresh:
            # Held messages can come back when a run outlives the visibility timeout.
            idle_receives += 1
            if not received or idle_receives >= 3:
                break
            continue
        idle_receives = 0
        taken: list[tuple[ReceivedMessage, Recovery]] = []
        for message in fresh:
            if limit is not None and matched >= limit:
                release.append(message.receipt_handle)
                continue
            seen.add(message.message_id)
            result.messages_read += 1
            parsed: FailureMessage = (
                DeadLetter.from_sqs(raw[message.message_id])
                if dead_letters
                else classify(message.body, message.message_id)
            )
            if not filters.matches(parsed, message.sent_at):
                result.messages_skipped += 1
                release.append(message.receipt_handle)
                continue
            matched += 1
            recovery = take(
                kinesis,
                s3,
                parsed,
                message.message_id,
                result,
                now=now(),
                retention_hours=retention_hours,
                page_limit=page_limit,
                streams=streams,
            )
            taken.append((message, recovery))

        def delete(message: ReceivedMessage, recovery: Recovery) -> bool:
            if not _delete(sqs, queue_url, message, result):
                return False
            if s3 is not None:
                delete_claim_check(s3, recovery, result)
            return True

        settle(
            taken,
            target,
            result,
            delete=delete,
            keep=lambda message: release.append(message.receipt_handle),
            not_deleted=NOT_DELETED,
            dry_run=dry_run,
            accept_partial=accept_partial,
            on_outcome=on_outcome,
        )
        if on_progress is not None:
            on_progress(result.messages_read, None)

    for handle in release:
        _release(sqs, queue_url, handle)
    return result


def _delete(sqs: Any, queue_url: str, message: ReceivedMessage, result: RedriveResult) -> bool:
    # An AWS error here is typically a run that outlived --visibility-timeout: the receipt handle is stale.
    return deleted(
        result,
        f"message {message.message_id}",
        message.message_id,
        lambda: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle),
    )


def _release(sqs: Any, queue_url: str, receipt_handle: str) -> None:
    """Make a message we are not deleting visible again right away."""
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        log_event(logging.WARNING, "release_failed", message=f"could not make a message visible again: {exc}")
