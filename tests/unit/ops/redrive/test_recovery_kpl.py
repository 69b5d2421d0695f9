"""Redrive of KPL user records: a quarantined user record goes back on its own, with its keys and bytes.

The envelopes are the handler's own: the aggregate is put on the fake stream, read back as Lambda would
deliver it, and processed by a StreamProcessor whose quarantine is in memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shardsafe import MemoryQuarantine, StreamProcessor
from shardsafe.core.sources.kpl import deaggregate, is_aggregate
from shardsafe.ops.failures import QuarantineMessage, classify
from shardsafe.ops.produce.aggregate import encode_aggregate
from shardsafe.ops.produce.putter import PutEntry, put_entries
from shardsafe.ops.redrive import FileTarget, StreamTarget, redrive
from tests.unit.ops.fakes import QUEUE_URL, STREAM_ARN, FakeKinesis, FakeSqs

NOW = datetime(2026, 1, 1, 1, tzinfo=UTC)
POISON = b'{"TICKER": "BAD", "PRICE": '
HASH_KEY = str(3 << 126)  # the fourth quarter of the hash key space
USERS = [
    ("key-a", None, b'{"TICKER": "A", "PRICE": 1.0, "EVENT_TIME": "t"}'),
    ("key-b", HASH_KEY, POISON),
    ("key-c", None, b'{"TICKER": "C", "PRICE": 3.0, "EVENT_TIME": "t"}'),
]


def lambda_record(kinesis: FakeKinesis, sequence_number: str) -> dict[str, Any]:
    """The stored record as Lambda's Kinesis event delivers it."""
    for shard_id, shard in kinesis.shards.items():
        for stored in shard.records:
            if stored["SequenceNumber"] == sequence_number:
                return {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": stored["PartitionKey"],
                        "sequenceNumber": sequence_number,
                        "data": base64.b64encode(stored["Data"]).decode(),
                        "approximateArrivalTimestamp": stored["ApproximateArrivalTimestamp"].timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventID": f"{shard_id}:{sequence_number}",
                    "eventSourceARN": STREAM_ARN,
                    "awsRegion": "us-east-1",
                }
    raise AssertionError(f"no record {sequence_number}")


def quarantined_from_the_stream(kinesis: FakeKinesis, sqs: FakeSqs, max_message_bytes: int = 1 << 20) -> str:
    """Put the aggregate, run the handler on it, send its envelope to the failure queue; the sequence number."""
    [receipt] = put_entries(kinesis, STREAM_ARN, [PutEntry(encode_aggregate(USERS), "key-a", "0")])
    assert receipt.sequence_number is not None
    quarantine = MemoryQuarantine(max_message_bytes=max_message_bytes)
    processor = StreamProcessor(
        lambda r: None, validate={"TICKER": str, "PRICE": float}, quarantine=quarantine, metrics=False
    )
    processor.process({"Records": [lambda_record(kinesis, receipt.sequence_number)]})
    [envelope] = quarantine.envelopes
    sqs.send(envelope.to_body())
    return receipt.sequence_number


def test_a_quarantined_user_record_is_re_put_on_its_own_with_its_partition_and_hash_keys() -> None:
    kinesis, sqs = FakeKinesis(shards=4), FakeSqs()
    sequence_number = quarantined_from_the_stream(kinesis, sqs)
    [body] = [m.body for m in sqs.messages.values()]
    message = classify(body, "m-1")
    assert isinstance(message, QuarantineMessage)
    assert (message.sub_sequence_number, message.explicit_hash_key, message.partition_key) == (
        1,
        HASH_KEY,
        "key-b",
    )
    assert message.sequence_number == int(sequence_number)

    result = redrive(sqs, kinesis, QUEUE_URL, StreamTarget(kinesis), wait_time_s=0, now=lambda: NOW)

    assert result.clean and result.records_reput == 1 and result.user_records == 1
    assert "1 KPL user records on their own" in result.summary()
    [put] = kinesis.put_calls[-1]
    assert (put["Data"], put["PartitionKey"], put["ExplicitHashKey"]) == (POISON, "key-b", HASH_KEY)
    [(key, data)] = kinesis.data("shardId-000000000003")
    assert (key, data) == ("key-b", POISON) and not is_aggregate(data)


def test_a_user_record_kept_only_by_its_hash_is_read_back_out_of_its_aggregate(tmp_path: Path) -> None:
    kinesis, sqs = FakeKinesis(), FakeSqs()
    quarantined_from_the_stream(kinesis, sqs, max_message_bytes=200)  # too small: the payload is left out
    [body] = [m.body for m in sqs.messages.values()]
    assert "base64" not in json.loads(body)["payload"]

    out = tmp_path / "recovered.jsonl"
    result = redrive(sqs, kinesis, QUEUE_URL, FileTarget(out), wait_time_s=0, now=lambda: NOW)

    assert result.clean and result.records_written == 1
    [line] = [json.loads(text) for text in out.read_text().splitlines()]
    assert base64.b64decode(line["data"]) == POISON
    assert (line["subSequenceNumber"], line["explicitHashKey"], line["partitionKey"]) == (
        1,
        HASH_KEY,
        "key-b",
    )
    assert line["sha256"] == hashlib.sha256(POISON).hexdigest()


def test_a_sub_sequence_number_the_aggregate_does_not_have_is_unrecoverable_and_the_message_kept() -> None:
    kinesis, sqs = FakeKinesis(), FakeSqs()
    quarantined_from_the_stream(kinesis, sqs, max_message_bytes=200)
    [message] = sqs.messages.values()
    document = json.loads(message.body)
    document["record"]["subSequenceNumber"] = 7
    message.body = json.dumps(document)

    result = redrive(sqs, kinesis, QUEUE_URL, FileTarget(Path("/dev/null")), wait_time_s=0, now=lambda: NOW)

    assert not result.clean and result.messages_kept == 1 and result.records_unrecoverable == 1
    [unrecoverable] = result.unrecoverable
    assert unrecoverable.reason == "not_found" and "no user record 7" in unrecoverable.detail


def test_an_on_failure_batch_s_aggregate_goes_back_whole_and_is_counted_with_its_user_records(
    tmp_path: Path,
) -> None:
    from tests.unit.ops.fakes import make_on_failure_body

    kinesis, sqs = FakeKinesis(), FakeSqs()
    data = encode_aggregate(USERS)
    sequence_number = kinesis.add(data, "key-a")
    sqs.send(
        make_on_failure_body(
            shard_id="shardId-000000000000", start=sequence_number, end=sequence_number, batch_size=1
        )
    )
    out = tmp_path / "recovered.jsonl"

    result = redrive(sqs, kinesis, QUEUE_URL, FileTarget(out), wait_time_s=0, now=lambda: NOW)

    assert result.clean and (result.aggregates, result.aggregated_user_records, result.user_records) == (
        1,
        3,
        0,
    )
    assert "1 KPL aggregates holding 3 user records" in result.summary()
    [line] = [json.loads(text) for text in out.read_text().splitlines()]
    assert base64.b64decode(line["data"]) == data and "subSequenceNumber" not in line
    assert [d for _, _, d in deaggregate(base64.b64decode(line["data"]))] == [d for _, _, d in USERS]
