"""Where recovered records go: a JSON Lines file, a Kinesis stream, a Lambda function, or an SQS queue.

A target says, record by record, whether each is safely written; a message is deleted only when all
of its records are (`shardsafe.ops.redrive.decide`). A target that cannot take a kind of record at all
(a DynamoDB change has no partition key to put on a Kinesis stream) says why before anything is
written (`cannot_take`), and the message is kept with that reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from shardsafe.core.sources import DYNAMODB, KINESIS, SQS
from shardsafe.ops.aws import error_code
from shardsafe.ops.produce.putter import PutEntry, put_entries
from shardsafe.ops.redrive.recovery import RecoveredRecord

__all__ = ["FileTarget", "FunctionTarget", "QueueTarget", "StreamTarget", "Target"]


class Target(Protocol):
    """Where recovered records go. ``write`` says, per record, whether it is safely written."""

    @property
    def description(self) -> str: ...

    @property
    def puts_to_stream(self) -> bool: ...

    def cannot_take(self, record: RecoveredRecord) -> str | None:
        """Why this target can never write ``record`` (the fix included), or None when it can."""
        ...

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]: ...


class FileTarget:
    """Appends records as JSON Lines (base64 ``data`` plus coordinates) and fsyncs before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"
        self.puts_to_stream = False

    def cannot_take(self, record: RecoveredRecord) -> str | None:
        return None

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        with self.path.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record.to_json()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return [True] * len(records)


class StreamTarget:
    """Re-puts Kinesis records with their original partition keys, in order per key.

    Records go back to the stream they came from, or to ``stream`` when given. A KPL aggregate from an
    on-failure batch goes back whole, as it was put; a KPL user record that was quarantined on its own
    goes back on its own (not re-aggregated), with its partition key and explicit hash key, which route
    it to the shard the KPL put its aggregate on (the KPL packs only records of one shard together).
    """

    def __init__(self, client: Any, stream: str | None = None, *, max_attempts: int = 8) -> None:
        self.client = client
        self.stream = stream
        self.max_attempts = max_attempts
        self.puts_to_stream = True
        self.description = f"stream {stream}" if stream else "the streams the records came from"

    def cannot_take(self, record: RecoveredRecord) -> str | None:
        if record.event_source == KINESIS:
            return None
        return (
            f"a record from {record.event_source} cannot be put on a Kinesis stream (it has no partition "
            "key, and a DynamoDB stream or a queue is not a Kinesis stream): use --to-function, "
            "--to-queue or --to-file"
        )

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        written = [False] * len(records)
        by_stream: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            by_stream.setdefault(self.stream or record.stream_arn, []).append(index)
        for stream, indexes in by_stream.items():
            receipts = put_entries(
                self.client,
                stream,
                [
                    PutEntry(records[i].data, records[i].partition_key, records[i].explicit_hash_key)
                    for i in indexes
                ],
                keep_key_order=True,
                max_attempts=self.max_attempts,
            )
            for index, receipt in zip(indexes, receipts, strict=True):
                written[index] = receipt.ok
        return written


# A redriven batch stays under Lambda's 6 MB synchronous payload with room for the event's framing.
MAX_INVOKE_BYTES = 5 * 1024 * 1024
MAX_INVOKE_RECORDS = 100


class FunctionTarget:
    """Invokes a Lambda function (synchronously) with the recovered records, as the event source would.

    Records are grouped by stream and shard, in order, up to MAX_INVOKE_RECORDS and MAX_INVOKE_BYTES an
    invocation. A DynamoDB record is sent as Lambda delivered it; a Kinesis record is rebuilt in the
    shape of https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html. A function error fails the
    whole invocation's records; a partial batch response (``batchItemFailures``) fails the record it
    names and every later one, as Lambda checkpoints a stream at the lowest failed sequence number.
    """

    def __init__(self, client: Any, function: str, *, region: str = "") -> None:
        self.client = client
        self.function = function
        self.region = region
        self.description = f"function {function}"
        self.puts_to_stream = False

    def cannot_take(self, record: RecoveredRecord) -> str | None:
        if record.event_source in (KINESIS, DYNAMODB):
            return None
        return (
            f"a record from {record.event_source} is not redriven to a function here (a queue's mapping "
            "takes it back from the queue): use --to-queue or --to-file"
        )

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        written = [False] * len(records)
        for indexes in self._invocations(records):
            events = [self._event_record(records[i]) for i in indexes]
            failed_from = self._invoke(events, [records[i].sequence_number for i in indexes])
            for position, index in enumerate(indexes):
                written[index] = failed_from is None or position < failed_from
        return written

    def _invocations(self, records: Sequence[RecoveredRecord]) -> list[list[int]]:
        groups: dict[tuple[str, str], list[int]] = {}
        for index, record in enumerate(records):
            groups.setdefault((record.stream_arn, record.shard_id), []).append(index)
        invocations: list[list[int]] = []
        for indexes in groups.values():
            current: list[int] = []
            size = 0
            for index in indexes:
                record_size = len(records[index].data) * 4 // 3 + 1024
                if current and (len(current) >= MAX_INVOKE_RECORDS or size + record_size > MAX_INVOKE_BYTES):
                    invocations.append(current)
                    current, size = [], 0
                current.append(index)
                size += record_size
            invocations.append(current)
        return invocations

    def _event_record(self, record: RecoveredRecord) -> dict[str, Any]:
        if record.event_source == DYNAMODB:
            event: dict[str, Any] = json.loads(record.data)
            return event
        arrival = record.arrival.timestamp() if record.arrival else None
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record.partition_key,
                "sequenceNumber": record.sequence_number,
                "data": base64.b64encode(record.data).decode(),
                "approximateArrivalTimestamp": arrival,
            },
            "eventSource": KINESIS,
            "eventVersion": "1.0",
            "eventID": f"{record.shard_id}:{record.sequence_number}",
            "eventName": "aws:kinesis:record",
            "awsRegion": record.stream_arn.split(":")[3]
            if record.stream_arn.count(":") >= 5
            else self.region,
            "eventSourceARN": record.stream_arn,
        }

    def _invoke(self, events: list[dict[str, Any]], sequence_numbers: list[str]) -> int | None:
        """Invoke once; None when every record succeeded, else the position of the first failed one."""
        try:
            response = self.client.invoke(
                FunctionName=self.function,
                InvocationType="RequestResponse",
                Payload=json.dumps({"Records": events}).encode(),
            )
        except Exception as exc:
            if error_code(exc) is None:
                raise
            return 0
        if response.get("FunctionError"):
            return 0
        try:
            result = json.loads(response["Payload"].read() or b"null")
        except ValueError:
            return None  # a response that is not JSON is not a partial batch response: a success
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return None
        named = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}
        positions = [i for i, sequence in enumerate(sequence_numbers) if sequence in named]
        return min(positions) if positions else 0  # an identifier not in the batch fails it all


class QueueTarget:
    """Sends records to an SQS queue: a dead-letter queue's messages with what SQS kept of them.

    Body and message attributes are sent as they were; to a FIFO queue, with the message's group id
    and, as deduplication id, its message id (what SQS itself puts there when it moves a message to a
    FIFO dead-letter queue): a second run that sends the same message again within SQS's 5-minute
    deduplication interval is dropped by SQS, and the original producer's id, which may still be in
    that interval, cannot make SQS drop the redriven copy. A record quarantined from a queue by
    shardsafe is sent as its body.
    """

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.fifo = queue_url.endswith(".fifo")
        self.description = f"queue {queue_url}"
        self.puts_to_stream = False

    def cannot_take(self, record: RecoveredRecord) -> str | None:
        if record.event_source != SQS:
            return (
                f"a record from {record.event_source} is not a queue message: use --to-stream, "
                "--to-function or --to-file"
            )
        try:
            record.data.decode()
        except UnicodeDecodeError:
            return f"message {record.message_id}'s body is not UTF-8 text, which SQS needs: use --to-file"
        if self.fifo and not record.partition_key:
            return (
                f"queue {self.queue_url} is FIFO and message {record.sequence_number or record.message_id} "
                "has no message group id: send it to a standard queue, or use --to-file"
            )
        return None

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        written = [False] * len(records)
        for start in range(0, len(records), 10):  # SendMessageBatch takes 10 entries
            chunk = range(start, min(start + 10, len(records)))
            entries = [self._entry(str(i), records[i]) for i in chunk]
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:
                if error_code(exc) is None:
                    raise
                continue
            for success in response.get("Successful", []):
                index = int(success["Id"])
                sent = hashlib.md5(records[index].data, usedforsecurity=False).hexdigest()
                written[index] = success.get("MD5OfMessageBody") in (None, sent)
        return written

    def _entry(self, entry_id: str, record: RecoveredRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": record.data.decode()}
        letter = record.dead_letter
        if letter is not None and letter.message_attributes:
            entry["MessageAttributes"] = {
                name: dict(value) for name, value in letter.message_attributes.items()
            }
        if self.fifo:
            entry["MessageGroupId"] = record.partition_key
            entry["MessageDeduplicationId"] = record.message_id
        return entry
