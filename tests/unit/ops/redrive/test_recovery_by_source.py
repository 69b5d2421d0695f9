"""Redrive for every source: DynamoDB stream batches and quarantined records, dead-letter queue messages,
and the targets that take them (a function, a queue) or say why they cannot (a Kinesis stream).

The DynamoDB Streams fake answers as the API reference says: GetShardIterator takes ``StreamArn`` and
``SequenceNumber``; a trimmed position is ``TrimmedDataAccessException``; GetRecords has no
``MillisBehindLatest``.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.ops.failures import DeadLetter, FailedBatch, QuarantineMessage, classify
from shardsafe.ops.redrive.decide import Action, decide
from shardsafe.ops.redrive.recovery import NO_POSITION, RecoveredRecord, recover
from shardsafe.ops.redrive.settle import settle
from shardsafe.ops.redrive.summary import RedriveResult
from shardsafe.ops.redrive.targets import FileTarget, FunctionTarget, QueueTarget, StreamTarget
from tests.unit.ops.fakes import client_error

DDB_STREAM = "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000"
SHARD = "shardId-00000001541626099285-f35f62ef"
FIRST = 1100000000017454423009


def ddb_record(n: int) -> dict[str, Any]:
    """Record ``n`` of the shard, as DynamoDB Streams' GetRecords answers (after botocore)."""
    return {
        "eventID": f"event-{n}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC),
            "Keys": {"pk": {"S": f"item-{n}"}},
            "NewImage": {"pk": {"S": f"item-{n}"}, "n": {"N": str(n)}},
            "SequenceNumber": str(FIRST + n),
            "SizeBytes": 40,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


class FakeStreams:
    """GetShardIterator and GetRecords of DynamoDB Streams, over records 0..count-1 of one shard."""

    def __init__(self, count: int, *, trimmed_below: int = 0) -> None:
        self.records = [ddb_record(n) for n in range(trimmed_below, count)]
        self.trimmed_below = FIRST + trimmed_below
        self.calls: list[dict[str, Any]] = []

    def get_shard_iterator(self, **request: Any) -> dict[str, str]:
        self.calls.append(request)
        assert set(request) <= {"StreamArn", "ShardId", "ShardIteratorType", "SequenceNumber"}, request
        if request["ShardId"] != SHARD:
            raise client_error("ResourceNotFoundException", "GetShardIterator")
        kind = request["ShardIteratorType"]
        if kind == "TRIM_HORIZON":
            return {"ShardIterator": "0"}
        number = int(request["SequenceNumber"])
        if number < self.trimmed_below:
            raise client_error("TrimmedDataAccessException", "GetShardIterator")
        position = next(
            (i for i, r in enumerate(self.records) if int(r["dynamodb"]["SequenceNumber"]) >= number),
            len(self.records),
        )
        return {"ShardIterator": str(position + (kind == "AFTER_SEQUENCE_NUMBER"))}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        start = int(ShardIterator)
        page = self.records[start : start + min(Limit, 2)]
        return {"Records": page, "NextShardIterator": str(start + len(page))}


def ddb_failure_body(
    start: int, end: int, size: int, *, payload: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
        "version": "1.0",
        "timestamp": "2026-01-01T00:05:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": str(FIRST + start),
            "endSequenceNumber": str(FIRST + end),
            "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
            "approximateArrivalOfLastRecord": "2026-01-01T00:00:09Z",
            "batchSize": size,
            "streamArn": DDB_STREAM,
        },
    }
    if payload is not None:
        body["payload"] = {"Records": payload}
    return body


def lambda_shaped(n: int) -> dict[str, Any]:
    record = ddb_record(n)
    record["dynamodb"]["ApproximateCreationDateTime"] = int(
        record["dynamodb"]["ApproximateCreationDateTime"].timestamp()
    )
    return {**record, "eventSourceARN": DDB_STREAM}


# --- DynamoDB stream batches ---


def test_a_dynamodb_batch_is_read_back_with_the_streams_api_as_lambda_delivered_each_record() -> None:
    streams = FakeStreams(10)
    batch = FailedBatch.from_message(ddb_failure_body(3, 7, 5), "m-1")

    recovery = recover(None, batch, streams=streams)

    assert not recovery.unrecoverable
    assert [json.loads(r.data) for r in recovery.records] == [lambda_shaped(n) for n in range(3, 8)]
    assert {(r.event_source, r.stream_arn, r.shard_id) for r in recovery.records} == {
        ("aws:dynamodb", DDB_STREAM, SHARD)
    }
    assert streams.calls[0] == {
        "StreamArn": DDB_STREAM,
        "ShardId": SHARD,
        "ShardIteratorType": "AT_SEQUENCE_NUMBER",
        "SequenceNumber": str(FIRST + 3),
    }


def test_a_dynamodb_batch_from_an_s3_object_needs_no_stream_and_keeps_each_record_whole() -> None:
    carried = [lambda_shaped(n) for n in range(2, 5)]
    batch = FailedBatch.from_message(ddb_failure_body(2, 4, 3, payload=carried), "s3://b/k")

    recovery = recover(None, batch)

    assert [json.loads(r.data) for r in recovery.records] == carried
    assert [r.sequence_number for r in recovery.records] == [str(FIRST + n) for n in range(2, 5)]


def test_a_dynamodb_batch_without_a_streams_client_is_unrecoverable_and_kept() -> None:
    recovery = recover(None, FailedBatch.from_message(ddb_failure_body(0, 1, 2), "m-1"))

    assert (
        recovery.reasons == {"read_error"} and "dynamodb streams client" in recovery.unrecoverable[0].detail
    )
    assert (
        decide(recovered=0, unrecoverable=recovery.reasons, written=None, accept_partial=False).action
        is Action.KEEP
    )


def test_records_the_stream_trimmed_are_reported_missing_not_skipped() -> None:
    streams = FakeStreams(10, trimmed_below=5)  # records 0..4 are gone

    recovery = recover(None, FailedBatch.from_message(ddb_failure_body(3, 7, 5), "m-1"), streams=streams)

    assert [json.loads(r.data)["eventID"] for r in recovery.records] == ["event-5", "event-6", "event-7"]
    (missing,) = recovery.unrecoverable
    assert (missing.reason, missing.first, missing.last) == ("trimmed", str(FIRST + 3), str(FIRST + 4))


# --- Quarantined DynamoDB records ---


def ddb_quarantine(record: dict[str, Any], *, inline: bool = True) -> QuarantineMessage:
    payload = json.dumps(record, separators=(",", ":")).encode()
    envelope = build_envelope(
        reason="handler_error",
        payload=payload,
        record={
            "eventSource": "aws:dynamodb",
            "eventSourceArn": DDB_STREAM,
            "shardId": None,
            "sequenceNumber": record["dynamodb"]["SequenceNumber"],
            "partitionKey": None,
        },
        error_type="ValueError",
        error_message="bad item",
        function_name="orders",
        request_id="r-1",
    )
    body = envelope.to_dict()
    if not inline:
        body["payload"].pop("base64")
    message = classify(body, "q-1")
    assert isinstance(message, QuarantineMessage), message
    return message


def test_a_quarantined_dynamodb_record_is_recovered_from_its_envelope_byte_identical() -> None:
    record = lambda_shaped(4)
    message = ddb_quarantine(record)

    (recovered,) = recover(None, message).records

    assert recovered.data == json.dumps(record, separators=(",", ":")).encode()
    assert (recovered.event_source, recovered.stream_arn, recovered.shard_id) == (
        "aws:dynamodb",
        DDB_STREAM,
        "",
    )
    assert recovered.sequence_number == str(FIRST + 4)


def test_a_dynamodb_record_kept_only_by_hash_is_unrecoverable_for_want_of_a_shard() -> None:
    recovery = recover(None, ddb_quarantine(lambda_shaped(4), inline=False))

    assert recovery.reasons == {NO_POSITION} and not recovery.records


# --- Dead-letter queue messages ---

SQS_MESSAGE = {
    "MessageId": "m-7",
    "ReceiptHandle": "h",
    "Body": '{"order": 7, "note": "ünïcödé"}',
    "Attributes": {
        "SentTimestamp": "1767225600000",
        "ApproximateReceiveCount": "2",
        "MessageGroupId": "g1",
        "MessageDeduplicationId": "m-7",
    },
    "MessageAttributes": {
        "kind": {"DataType": "String", "StringValue": "k", "StringListValues": [], "BinaryListValues": []},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    },
}


def test_a_dead_letter_keeps_body_attributes_as_sendmessage_takes_them_and_group() -> None:
    letter = DeadLetter.from_sqs(SQS_MESSAGE)

    assert letter.body == SQS_MESSAGE["Body"] and letter.group_id == "g1" and letter.receive_count == 2
    assert letter.message_attributes == {
        "kind": {"DataType": "String", "StringValue": "k"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    assert letter.sent_at == datetime(2026, 1, 1, tzinfo=UTC)
    (record,) = recover(None, letter).records
    assert (record.data, record.event_source, record.dead_letter) == (
        SQS_MESSAGE["Body"].encode(),
        "aws:sqs",
        letter,
    )


class FakeQueue:
    def __init__(self, fail_ids: frozenset[str] = frozenset()) -> None:
        self.entries: list[dict[str, Any]] = []
        self.fail_ids = fail_ids

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        import hashlib

        self.entries += Entries
        return {
            "Successful": [
                {"Id": e["Id"], "MD5OfMessageBody": hashlib.md5(e["MessageBody"].encode()).hexdigest()}
                for e in Entries
                if e["Id"] not in self.fail_ids
            ],
            "Failed": [{"Id": i, "Code": "InternalError"} for i in self.fail_ids],
        }


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_a_dead_letter_goes_back_with_body_attributes_and_for_fifo_its_group_and_a_stable_dedup_id(
    fifo: bool,
) -> None:
    queue = FakeQueue()
    url = "https://sqs/000000000000/orders" + (".fifo" if fifo else "")
    (record,) = recover(None, DeadLetter.from_sqs(SQS_MESSAGE)).records

    assert QueueTarget(queue, url).write([record]) == [True]

    (entry,) = queue.entries
    assert entry["MessageBody"] == SQS_MESSAGE["Body"]
    assert entry["MessageAttributes"] == DeadLetter.from_sqs(SQS_MESSAGE).message_attributes
    expected_fifo = {"MessageGroupId": "g1", "MessageDeduplicationId": "m-7"} if fifo else {}
    assert {k: entry[k] for k in ("MessageGroupId", "MessageDeduplicationId") if k in entry} == expected_fifo


def test_a_message_sqs_did_not_take_is_not_written() -> None:
    records = [
        recover(None, DeadLetter.from_sqs({**SQS_MESSAGE, "MessageId": f"m-{n}"})).records[0]
        for n in range(3)
    ]

    assert QueueTarget(FakeQueue(frozenset({"1"})), "https://sqs/q").write(records) == [True, False, True]


def test_a_fifo_queue_refuses_a_message_without_a_group_and_a_queue_refuses_stream_records() -> None:
    no_group = {**SQS_MESSAGE, "Attributes": {"SentTimestamp": "1"}}
    (letter,) = recover(None, DeadLetter.from_sqs(no_group)).records
    (change,) = recover(None, ddb_quarantine(lambda_shaped(1))).records

    assert "has no message group id" in (
        QueueTarget(FakeQueue(), "https://sqs/q.fifo").cannot_take(letter) or ""
    )
    assert QueueTarget(FakeQueue(), "https://sqs/q").cannot_take(letter) is None
    assert "aws:dynamodb" in (QueueTarget(FakeQueue(), "https://sqs/q").cannot_take(change) or "")


# --- Targets that cannot take a record: the message is kept, nothing written ---


def test_a_dynamodb_record_is_never_put_on_a_kinesis_stream_and_its_message_is_kept_saying_why() -> None:
    recovery = recover(
        None, FailedBatch.from_message(ddb_failure_body(0, 1, 2), "m-1"), streams=FakeStreams(3)
    )
    kept: list[str] = []
    result = RedriveResult()

    class NoPuts:
        def put_records(self, **_: Any) -> Any:
            raise AssertionError("nothing is put")

    settle(
        [("m-1", recovery)],
        StreamTarget(NoPuts()),
        result,
        delete=lambda *_: True,
        keep=kept.append,
        not_deleted="",
        dry_run=False,
        accept_partial=False,
    )

    (outcome,) = result.outcomes
    assert kept == ["m-1"] and outcome.action == "kept" and outcome.written == 0
    assert "--to-function" in outcome.why and "aws:dynamodb" in outcome.why


@pytest.mark.parametrize(
    ("unrecoverable", "refused", "action"),
    [
        ([], "no partition key", Action.KEEP),
        (["unreadable_message"], "no partition key", Action.KEEP),
        ([], None, Action.WRITE),
    ],
    ids=["refused: keep", "a person's first", "not refused: write"],
)
def test_a_refusal_keeps_the_message_before_anything_is_written(unrecoverable, refused, action) -> None:
    decision = decide(
        recovered=2, unrecoverable=unrecoverable, written=None, accept_partial=True, refused=refused
    )

    assert decision.action is action
    if refused and not unrecoverable:
        assert decision.why == f"nothing written: {refused}"


def test_a_file_takes_every_source(tmp_path) -> None:
    (letter,) = recover(None, DeadLetter.from_sqs(SQS_MESSAGE)).records
    (change,) = recover(None, ddb_quarantine(lambda_shaped(1))).records
    target = FileTarget(tmp_path / "out.jsonl")

    assert target.cannot_take(letter) is None and target.cannot_take(change) is None
    assert target.write([letter, change]) == [True, True]
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(line["eventSource"], base64.b64decode(line["data"])) for line in lines] == [
        ("aws:sqs", letter.data),
        ("aws:dynamodb", change.data),
    ]


# --- The function target ---


class FakeLambda:
    """Invoke: answers from ``answers`` in turn; remembers each event."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.events: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "RequestResponse"
        self.events.append(json.loads(Payload))
        answer = self.answers.pop(0) if self.answers else {}
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(answer.get("body")).encode()),
        }
        if answer.get("error"):
            response["FunctionError"] = "Unhandled"
        return response


def ddb_records(*numbers: int) -> list[RecoveredRecord]:
    batch = FailedBatch.from_message(ddb_failure_body(min(numbers), max(numbers), len(numbers)), "m-1")
    return recover(None, batch, streams=FakeStreams(10)).records


def test_the_function_gets_the_records_as_its_mapping_delivers_them_and_success_writes_all() -> None:
    functions = FakeLambda()

    assert FunctionTarget(functions, "orders").write(ddb_records(1, 2, 3)) == [True] * 3

    assert functions.events == [{"Records": [lambda_shaped(n) for n in (1, 2, 3)]}]


def test_a_function_error_writes_none_of_the_invocation() -> None:
    assert FunctionTarget(FakeLambda({"error": True}), "orders").write(ddb_records(1, 2, 3)) == [False] * 3


def test_a_partial_batch_response_fails_the_named_record_and_every_later_one_as_a_stream_checkpoints() -> (
    None
):
    answer = {
        "body": {
            "batchItemFailures": [{"itemIdentifier": str(FIRST + 3)}, {"itemIdentifier": str(FIRST + 4)}]
        }
    }

    written = FunctionTarget(FakeLambda(answer), "orders").write(ddb_records(1, 2, 3, 4, 5))

    assert written == [True, True, False, False, False]


def test_an_identifier_not_in_the_batch_fails_the_whole_invocation() -> None:
    answer = {"body": {"batchItemFailures": [{"itemIdentifier": "42"}]}}

    assert FunctionTarget(FakeLambda(answer), "orders").write(ddb_records(1, 2)) == [False, False]


def test_kinesis_records_are_rebuilt_in_the_kinesis_event_shape() -> None:
    record = RecoveredRecord(
        data=b"\x00tick",
        partition_key="AMZN",
        stream_arn="arn:aws:kinesis:eu-west-1:000000000000:stream/ticks",
        shard_id="shardId-000000000001",
        sequence_number="49590338271490256608559692538361571095921575989136588898",
        arrival=datetime(2026, 1, 1, tzinfo=UTC),
        message_id="m-1",
        kind="on_failure",
        reason="RetryAttemptsExhausted",
    )
    functions = FakeLambda()

    assert FunctionTarget(functions, "ticks").write([record]) == [True]

    (event,) = functions.events[0]["Records"]
    assert event["kinesis"] == {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": "AMZN",
        "sequenceNumber": record.sequence_number,
        "data": base64.b64encode(b"\x00tick").decode(),
        "approximateArrivalTimestamp": 1767225600.0,
    }
    assert (event["eventSource"], event["eventSourceARN"], event["awsRegion"]) == (
        "aws:kinesis",
        record.stream_arn,
        "eu-west-1",
    )
    assert event["eventID"] == f"shardId-000000000001:{record.sequence_number}"


class FakeDeadLetterQueue:
    """ReceiveMessage (each message once, with the system attributes asked for), DeleteMessage."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.waiting = list(messages)
        self.deleted: list[str] = []
        self.asked: list[list[str]] = []

    def receive_message(self, *, MessageSystemAttributeNames: list[str], **_: Any) -> dict[str, Any]:
        self.asked.append(MessageSystemAttributeNames)
        batch, self.waiting = self.waiting[:10], self.waiting[10:]
        wanted = set(MessageSystemAttributeNames)
        return {
            "Messages": [
                {
                    **m,
                    "ReceiptHandle": m["MessageId"],
                    "Attributes": {
                        k: v for k, v in m["Attributes"].items() if "All" in wanted or k in wanted
                    },
                }
                for m in batch
            ]
        }

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> None:
        self.deleted.append(ReceiptHandle)

    def change_message_visibility(self, **_: Any) -> None:
        raise AssertionError("every message is sent and deleted")


def test_a_fifo_dead_letter_queue_is_moved_back_message_by_message_with_its_groups_in_order() -> None:
    from shardsafe.ops.redrive import redrive

    letters = [
        {
            **SQS_MESSAGE,
            "MessageId": f"m-{n}",
            "Body": f"body {n}",
            "Attributes": {**SQS_MESSAGE["Attributes"], "MessageGroupId": f"g{n % 2}"},
        }
        for n in range(13)
    ]
    dlq, source = FakeDeadLetterQueue(letters), FakeQueue()

    result = redrive(
        dlq,
        None,
        "https://sqs/dlq.fifo",
        QueueTarget(source, "https://sqs/orders.fifo"),
        dead_letters=True,
        wait_time_s=0,
    )

    assert result.clean and result.messages_deleted == result.records_written == 13
    assert dlq.deleted == [f"m-{n}" for n in range(13)]
    assert [(e["MessageBody"], e["MessageGroupId"], e["MessageDeduplicationId"]) for e in source.entries] == [
        (f"body {n}", f"g{n % 2}", f"m-{n}") for n in range(13)
    ]
    assert all("MessageGroupId" in asked or "All" in asked for asked in dlq.asked)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--dlq", "orders-dlq", "--to-stream"], "--dlq orders-dlq: a dead-letter queue's messages go back"),
        (["--dlq", "orders-dlq", "--to-function", "f"], "use --to-queue [QUEUE] or --to-file FILE"),
        (
            ["--queue", "q", "--to-queue"],
            "--to-queue without a QUEUE sends a DLQ's messages back to its source",
        ),
    ],
    ids=["dlq to a stream", "dlq to a function", "to-queue without a dlq or a queue"],
)
def test_a_target_a_source_cannot_have_is_bad_input_naming_the_fix(argv, error, capsys) -> None:
    from shardsafe.ops.cli import main

    assert main(["redrive", *argv]) == 2
    assert error in capsys.readouterr().err


def test_to_queue_without_a_queue_needs_exactly_one_source_queue_and_names_what_it_found() -> None:
    from shardsafe.ops.cli._redrive_command import source_queue
    from shardsafe.ops.errors import InputError

    class Sqs:
        def __init__(self, urls: list[str]) -> None:
            self.urls = urls

        def list_dead_letter_source_queues(self, QueueUrl: str) -> dict[str, Any]:
            return {"queueUrls": self.urls}

    assert source_queue(Sqs(["https://sqs/a"]), "https://sqs/dlq") == "https://sqs/a"
    with pytest.raises(InputError, match="found none: name the queue"):
        source_queue(Sqs([]), "https://sqs/dlq")
    with pytest.raises(InputError, match="found https://sqs/a, https://sqs/b"):
        source_queue(Sqs(["https://sqs/a", "https://sqs/b"]), "https://sqs/dlq")
