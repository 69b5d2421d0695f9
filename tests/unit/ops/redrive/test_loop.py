"""redrive() through the SQS loop, with fakes: each record recovered once, messages deleted only when safe."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shardsafe.core.quarantine.claimcheck import PAYLOADS, ClaimCheck, S3ClaimCheck, object_key
from shardsafe.ops.redrive import FileTarget, ReceivedMessage, RedriveFilter, StreamTarget, redrive
from tests.unit.ops.fakes import (
    BUCKET,
    QUEUE_URL,
    FakeKinesis,
    FakeSqs,
    client_error,
    make_on_failure_body,
    make_on_failure_object,
)

SHARD = "shardId-000000000000"
NOW = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def stream_with(kinesis: FakeKinesis, count: int, *, prefix: str = "r") -> list[str]:
    return [kinesis.add(f"{prefix}-{i}".encode(), key=f"k{i % 2}") for i in range(count)]


def failed_batch(sqs: FakeSqs, sequences: list[str], **overrides: object) -> str:
    body = make_on_failure_body(
        shard_id=SHARD, start=sequences[0], end=sequences[-1], batch_size=len(sequences)
    )
    body.update(overrides)
    return sqs.send(body)


def file_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(sqs, kinesis, target, **options):
    return redrive(sqs, kinesis, QUEUE_URL, target, wait_time_s=0, now=lambda: NOW, **options)


def test_failed_batch_is_recovered_to_a_file_byte_for_byte_and_its_message_deleted(
    fake_kinesis, fake_sqs, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 10)
    message = failed_batch(sqs, sequences[2:7])
    out = tmp_path / "failed.jsonl"

    result = run(sqs, kinesis, FileTarget(out))

    lines = file_records(out)
    assert [base64.b64decode(line["data"]) for line in lines] == [f"r-{i}".encode() for i in range(2, 7)]
    assert [line["sequenceNumber"] for line in lines] == sequences[2:7]
    assert all(line["sha256"] == hashlib.sha256(base64.b64decode(line["data"])).hexdigest() for line in lines)
    assert {line["messageId"] for line in lines} == {message}
    assert sqs.deleted == [message]
    assert (result.messages_read, result.records_recovered, result.records_written) == (1, 5, 5)
    assert result.clean


def test_failed_batch_is_reput_with_its_partition_keys_in_order(fake_kinesis, fake_sqs):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 6)
    failed_batch(sqs, sequences[1:5])

    result = run(sqs, kinesis, StreamTarget(kinesis))

    assert kinesis.data()[6:] == [("k1", b"r-1"), ("k0", b"r-2"), ("k1", b"r-3"), ("k0", b"r-4")]
    assert result.records_reput == 4
    assert len(sqs.deleted) == 1


def test_reput_can_go_to_another_stream(fake_kinesis, fake_sqs):
    source, replay, sqs = fake_kinesis(), fake_kinesis(), fake_sqs()
    failed_batch(sqs, stream_with(source, 2))

    run(sqs, source, StreamTarget(replay, "replay"))

    assert replay.data() == [("k0", b"r-0"), ("k1", b"r-1")]
    assert len(source.data()) == 2


def test_inline_quarantined_record_is_redriven_without_reading_the_stream(
    fake_kinesis, fake_sqs, quarantine_body, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sqs.send(quarantine_body(payload=b'{"PRICE": "bad"', sequence_number="42", partition_key="AAPL"))
    out = tmp_path / "q.jsonl"

    result = run(sqs, kinesis, FileTarget(out))

    [line] = file_records(out)
    assert base64.b64decode(line["data"]) == b'{"PRICE": "bad"'
    assert (line["partitionKey"], line["sequenceNumber"], line["kind"]) == ("AAPL", "42", "quarantine")
    assert kinesis.get_records_calls == 0
    assert result.clean and len(sqs.deleted) == 1


def test_truncated_quarantined_record_is_reread_from_the_stream_and_checked(
    fake_kinesis, fake_sqs, quarantine_body
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    big = b"{" + b"x" * 300_000
    sequence = kinesis.add(big, key="AAPL")
    kinesis.add(b"next", key="AAPL")
    sqs.send(quarantine_body(payload=big, sequence_number=sequence, partition_key="AAPL", inline=False))

    result = run(sqs, kinesis, StreamTarget(kinesis))

    assert kinesis.data()[2:] == [("AAPL", big)]
    assert result.records_reput == 1 and result.clean


def test_truncated_record_whose_stream_bytes_differ_from_the_hash_is_kept(
    fake_kinesis, fake_sqs, quarantine_body
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequence = kinesis.add(b"something else")
    message = sqs.send(quarantine_body(payload=b"original", sequence_number=sequence, inline=False))

    result = run(sqs, kinesis, StreamTarget(kinesis))

    assert [u.reason for u in result.unrecoverable] == ["sha256_mismatch"]
    assert sqs.deleted == [] and message in sqs.released
    assert len(kinesis.data()) == 1, "nothing re-put"
    assert not result.clean


def test_partly_trimmed_batch_is_kept_whole_and_reported(fake_kinesis, fake_sqs, tmp_path):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 6)
    kinesis.trim(SHARD, below=sequences[2])
    message = failed_batch(sqs, sequences[:5])
    out = tmp_path / "out.jsonl"

    result = run(sqs, kinesis, FileTarget(out))

    assert not out.exists(), "nothing of a partly lost batch is written by default"
    assert sqs.deleted == [] and message in sqs.released
    assert result.records_unrecoverable == 2
    assert [(u.reason, u.first, u.count) for u in result.unrecoverable] == [("trimmed", sequences[0], 2)]
    assert "--accept-partial" in result.outcomes[0].why


def test_partly_trimmed_batch_with_accept_partial_redrives_the_rest_and_deletes(
    fake_kinesis, fake_sqs, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 6)
    kinesis.trim(SHARD, below=sequences[2])
    message = failed_batch(sqs, sequences[:5])
    out = tmp_path / "out.jsonl"

    result = run(sqs, kinesis, FileTarget(out), accept_partial=True)

    assert [line["sequenceNumber"] for line in file_records(out)] == sequences[2:5]
    assert sqs.deleted == [message]
    assert result.records_unrecoverable == 2 and not result.clean


def test_unrecoverable_records_are_logged_as_json(fake_kinesis, fake_sqs, tmp_path, caplog):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 3)
    kinesis.trim(SHARD, below=sequences[1])
    failed_batch(sqs, sequences)

    with caplog.at_level(logging.INFO, logger="shardsafe.ops.redrive"):
        run(sqs, kinesis, FileTarget(tmp_path / "out.jsonl"))

    events = [json.loads(r.getMessage()) for r in caplog.records]
    [lost] = [e for e in events if e["event"] == "unrecoverable"]
    assert (lost["reason"], lost["shardId"], lost["firstSequenceNumber"], lost["count"]) == (
        "trimmed",
        SHARD,
        sequences[0],
        1,
    )


def test_dry_run_reads_but_writes_and_deletes_nothing_and_releases_every_message(
    fake_kinesis, fake_sqs, quarantine_body, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    first = failed_batch(sqs, stream_with(kinesis, 3))
    second = sqs.send(quarantine_body(payload=b"x"))
    out = tmp_path / "out.jsonl"

    result = run(sqs, kinesis, FileTarget(out), dry_run=True)

    assert not out.exists()
    assert sqs.deleted == []
    assert sorted(sqs.released) == sorted([first, second])
    assert [o.action for o in result.outcomes] == ["would delete", "would delete"]
    assert result.records_written == 4
    assert result.summary() == (
        "dry run, nothing written or deleted: messages read 2, skipped by filters 0, would delete 2, would keep 0; "
        "records recovered 4, would re-put 0, would write to file 4, unrecoverable 0"
    )


def test_filters_skip_messages_and_leave_them_in_the_queue(fake_kinesis, fake_sqs, quarantine_body, tmp_path):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    batch = failed_batch(sqs, stream_with(kinesis, 2))
    json_error = sqs.send(quarantine_body(payload=b"{", reason="invalid_json"))
    empty = sqs.send(quarantine_body(payload=b"", reason="empty"))

    result = run(
        sqs,
        kinesis,
        FileTarget(tmp_path / "o.jsonl"),
        filters=RedriveFilter(reasons=frozenset({"invalid_json"})),
    )

    assert sqs.deleted == [json_error]
    assert sorted(sqs.released) == sorted([batch, empty])
    assert (result.messages_read, result.messages_skipped) == (3, 2)


def test_filter_by_shard_kind_and_time(fake_kinesis, fake_sqs, quarantine_body):
    sqs = fake_sqs()
    messages = [
        sqs.send(
            quarantine_body(
                payload=b"a", shard_id="shardId-000000000001", quarantined_at="2026-01-01T10:00:00Z"
            )
        ),
        sqs.send(
            quarantine_body(
                payload=b"b", shard_id="shardId-000000000002", quarantined_at="2026-01-01T10:00:00Z"
            )
        ),
        sqs.send(
            quarantine_body(
                payload=b"c", shard_id="shardId-000000000001", quarantined_at="2026-01-01T08:00:00Z"
            )
        ),
        sqs.send(
            make_on_failure_body(
                shard_id="shardId-000000000001",
                start="1",
                end="1",
                batch_size=1,
                timestamp="2026-01-01T10:00:00Z",
            )
        ),
    ]
    wanted = RedriveFilter(
        shards=frozenset({"shardId-000000000001"}),
        kinds=frozenset({"quarantine"}),
        since=datetime(2026, 1, 1, 9, tzinfo=UTC),
        until=datetime(2026, 1, 1, 11, tzinfo=UTC),
    )

    result = run(sqs, fake_kinesis(), StreamTarget(fake_kinesis()), filters=wanted)

    assert sqs.deleted == [messages[0]]
    assert result.messages_skipped == 3


def test_limit_caps_the_messages_redriven(fake_kinesis, fake_sqs, quarantine_body, tmp_path):
    sqs = fake_sqs()
    for i in range(25):
        sqs.send(quarantine_body(payload=f"{i}".encode()))

    result = run(sqs, fake_kinesis(), FileTarget(tmp_path / "o.jsonl"), limit=12)

    assert len(sqs.deleted) == 12
    assert len(sqs.remaining) == 13
    assert result.messages_read == 12
    assert all(message.visible for id_, message in sqs.messages.items() if id_ not in sqs.deleted)


def test_many_messages_are_all_redriven_and_none_twice(fake_kinesis, fake_sqs, quarantine_body):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    for i in range(37):
        sqs.send(quarantine_body(payload=f"payload-{i}".encode(), partition_key=f"k{i % 5}"))

    result = run(sqs, kinesis, StreamTarget(kinesis))

    assert sorted(data for _, data in kinesis.data()) == sorted(f"payload-{i}".encode() for i in range(37))
    assert result.messages_deleted == 37 and sqs.remaining == []


def test_message_is_kept_when_its_records_cannot_be_reput(fake_kinesis, fake_sqs):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    message = failed_batch(sqs, stream_with(kinesis, 2))
    kinesis.fail_entries = [{0}] * 10
    target = StreamTarget(kinesis, max_attempts=2)

    result = run(sqs, kinesis, target)

    assert sqs.deleted == [] and message in sqs.released
    assert result.outcomes[0].action == "kept"
    assert "could not be written" in result.outcomes[0].why


def test_batch_close_to_retention_warns_with_the_numbers(fake_kinesis, fake_sqs, tmp_path):
    kinesis, sqs = fake_kinesis(retention_hours=24), fake_sqs()
    sequences = stream_with(kinesis, 2)
    arrival = (NOW - timedelta(hours=23)).isoformat().replace("+00:00", "Z")
    body = make_on_failure_body(
        shard_id=SHARD, start=sequences[0], end=sequences[1], batch_size=2, first_arrival=arrival
    )
    sqs.send(body)

    result = run(sqs, kinesis, FileTarget(tmp_path / "o.jsonl"))

    [warning] = result.warnings
    assert "arrived 23.0 h ago" in warning and "keeps records 24 h" in warning and "1.0 h left" in warning
    assert result.clean, "a warning does not stop the redrive"


def test_batch_past_retention_warns_and_still_recovers_what_is_there(fake_kinesis, fake_sqs, tmp_path):
    kinesis, sqs = fake_kinesis(retention_hours=24), fake_sqs()
    sequences = stream_with(kinesis, 2)
    arrival = (NOW - timedelta(hours=30)).isoformat()
    sqs.send(
        make_on_failure_body(
            shard_id=SHARD, start=sequences[0], end=sequences[1], batch_size=2, first_arrival=arrival
        )
    )

    result = run(sqs, kinesis, FileTarget(tmp_path / "o.jsonl"))

    assert "arrived 30.0 h ago" in result.warnings[0] and "past retention" in result.warnings[0]
    assert result.records_written == 2


def test_batch_with_fewer_records_than_lambda_reported_is_unrecoverable(fake_kinesis, fake_sqs, tmp_path):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sequences = stream_with(kinesis, 3)
    sqs.send(make_on_failure_body(shard_id=SHARD, start=sequences[0], end=sequences[2], batch_size=5))

    result = run(sqs, kinesis, FileTarget(tmp_path / "o.jsonl"))

    assert [(u.reason, u.count) for u in result.unrecoverable] == [("count_mismatch", 2)]


def test_unreadable_message_is_kept_and_reported(fake_kinesis, fake_sqs, tmp_path):
    sqs = fake_sqs()
    message = sqs.send("not json at all")

    result = run(sqs, fake_kinesis(), FileTarget(tmp_path / "o.jsonl"))

    assert sqs.deleted == [] and message in sqs.released
    assert [u.reason for u in result.unrecoverable] == ["unreadable_message"]
    assert not result.clean


def test_batch_on_a_stream_that_is_gone_is_reported_not_raised(fake_kinesis, fake_sqs, tmp_path):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    sqs.send(make_on_failure_body(shard_id="shardId-000000000007", start="5", end="9", batch_size=2))

    result = run(sqs, kinesis, FileTarget(tmp_path / "o.jsonl"))

    assert [u.reason for u in result.unrecoverable] == ["shard_not_found"]
    assert result.messages_kept == 1


def test_summary_counts_everything(fake_kinesis, fake_sqs, quarantine_body, tmp_path):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    failed_batch(sqs, stream_with(kinesis, 3))
    sqs.send(quarantine_body(payload=b"q"))

    result = run(sqs, kinesis, StreamTarget(kinesis))

    assert result.summary() == (
        "redrive: messages read 2, skipped by filters 0, deleted 2, kept 0; "
        "records recovered 4, re-put 4, written to file 0, unrecoverable 0"
    )


def test_message_whose_delete_fails_after_writing_is_reported_not_counted_deleted(
    fake_kinesis, fake_sqs, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    failed_batch(sqs, stream_with(kinesis, 2))

    def stale(**_):
        raise client_error("ReceiptHandleIsInvalid", "DeleteMessage", "The receipt handle has expired")

    sqs.delete_message = stale

    result = run(sqs, kinesis, FileTarget(tmp_path / "o.jsonl"))

    assert result.records_written == 2
    assert (result.messages_deleted, result.messages_kept) == (0, 1)
    assert "ReceiptHandleIsInvalid" in result.warnings[0]
    assert "could not be deleted" in result.outcomes[0].why


def test_sqs_sent_timestamp_is_read_as_utc():
    message = ReceivedMessage.from_sqs(
        {
            "MessageId": "m",
            "ReceiptHandle": "r",
            "Body": "{}",
            "Attributes": {"SentTimestamp": "1767225600000"},
        }
    )

    assert message.sent_at == datetime(2026, 1, 1, tzinfo=UTC)


def put_claim_check(s3, payload: bytes):
    """A record too big for a message, put in S3 by the handler's own S3ClaimCheck."""
    sha256 = hashlib.sha256(payload).hexdigest()
    key = object_key(PAYLOADS, "2026-01-01T00:05:00.000Z", "req-1", 0, sha256)
    return S3ClaimCheck(BUCKET, client=s3).put(key, payload, sha256=sha256)


def bucket_keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_claim_checked_record_is_fetched_from_s3_and_its_object_deleted_after_the_message(
    fake_kinesis, fake_sqs, quarantine_body, s3, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    big = b"{" + bytes(range(256)) * 3000
    check = put_claim_check(s3, big)
    message = sqs.send(
        quarantine_body(payload=big, sequence_number="77", partition_key="AAPL", claim_check=check)
    )
    order: list[str] = []
    delete_message = sqs.delete_message
    sqs.delete_message = lambda **kw: (order.append("message"), delete_message(**kw))
    out = tmp_path / "q.jsonl"

    result = run(sqs, kinesis, FileTarget(out), s3=s3)

    [line] = file_records(out)
    assert base64.b64decode(line["data"]) == big
    assert (line["sequenceNumber"], line["partitionKey"]) == ("77", "AAPL")
    assert kinesis.get_records_calls == 0
    assert sqs.deleted == [message] and bucket_keys(s3) == []
    assert order == ["message"]
    assert result.clean and result.warnings == []


def test_claim_check_object_that_cannot_be_deleted_is_a_warning_not_an_error(
    fake_kinesis, fake_sqs, quarantine_body, s3, tmp_path
):
    sqs = fake_sqs()
    check = put_claim_check(s3, b"{" + b"y" * 2000)
    sqs.send(quarantine_body(payload=b"{" + b"y" * 2000, claim_check=check))

    class NoDelete:
        def __getattr__(self, name):
            return getattr(s3, name)

        def delete_object(self, **_):
            raise client_error("AccessDenied", "DeleteObject")

    result = run(sqs, fake_kinesis(), FileTarget(tmp_path / "q.jsonl"), s3=NoDelete())

    assert result.messages_deleted == 1 and result.clean
    [warning] = result.warnings
    assert check.key in warning and "AccessDenied" in warning and "lifecycle" in warning
    assert bucket_keys(s3) == [check.key]


def test_claim_checked_record_whose_object_differs_is_kept_and_its_object_left(
    fake_kinesis, fake_sqs, quarantine_body, s3, tmp_path
):
    sqs = fake_sqs()
    check = put_claim_check(s3, b"original bytes")
    s3.put_object(Bucket=BUCKET, Key=check.key, Body=b"replaced bytes")
    message = sqs.send(quarantine_body(payload=b"original bytes", claim_check=check))

    result = run(sqs, fake_kinesis(), FileTarget(tmp_path / "q.jsonl"), s3=s3)

    assert sqs.deleted == [] and message in sqs.released
    assert [u.reason for u in result.unrecoverable] == ["claim_check_mismatch"]
    assert "sha256" in result.unrecoverable[0].detail
    assert bucket_keys(s3) == [check.key]


def test_claim_checked_record_without_an_s3_client_is_kept_with_the_reason(
    fake_kinesis, fake_sqs, quarantine_body, tmp_path
):
    sqs = fake_sqs()
    sqs.send(quarantine_body(payload=b"x", claim_check=ClaimCheck(BUCKET, "payloads/k")))

    result = run(sqs, fake_kinesis(), FileTarget(tmp_path / "q.jsonl"))

    assert [(u.reason, "no S3 client" in u.detail) for u in result.unrecoverable] == [("read_error", True)]
    assert result.messages_kept == 1


def test_on_failure_object_body_sent_to_a_queue_is_redriven_from_its_records(
    fake_kinesis, fake_sqs, tmp_path
):
    kinesis, sqs = fake_kinesis(), fake_sqs()
    records = [(b"a", "k", "5"), (b"b", "k", "6")]
    sqs.send(make_on_failure_object(records))
    out = tmp_path / "o.jsonl"

    run(sqs, kinesis, FileTarget(out))

    assert [base64.b64decode(line["data"]) for line in file_records(out)] == [b"a", b"b"]
    assert kinesis.get_records_calls == 0


def test_progress_is_told_how_many_messages_were_read(fake_kinesis, fake_sqs, quarantine_body, tmp_path):
    sqs = fake_sqs()
    for i in range(12):
        sqs.send(quarantine_body(payload=f"{i}".encode()))
    seen: list[tuple[int, int | None]] = []

    run(sqs, fake_kinesis(), FileTarget(tmp_path / "o.jsonl"), on_progress=lambda *a: seen.append(a))

    assert seen == [(10, None), (12, None)]
