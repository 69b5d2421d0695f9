"""redrive_bucket() over a moto S3: Lambda's on-failure objects and envelopes kept in S3, redriven byte
for byte without reading the stream, and each object deleted only after its records are written."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from shardsafe.core.quarantine.claimcheck import ENVELOPES, PAYLOADS, S3ClaimCheck, object_key
from shardsafe.ops.redrive import FileTarget, RedriveFilter, StreamTarget, redrive_bucket
from shardsafe.ops.redrive.bucket import is_claim_check_payload
from tests.unit.ops.fakes import BUCKET, STREAM_ARN, FakeKinesis, client_error, make_on_failure_object
from tests.unit.ops.fakes import make_quarantine_body as quarantine_body

SHARD = "shardId-000000000000"
ON_FAILURE_KEY = "aws/lambda/0f1e-esm/shardId-000000000000/2026/01/01/2026-01-01T00.05.00-{n}"
SEQUENCES = [str(10**55 + i * 10**40) for i in range(5)]


def batch(count: int = 5, *, start: int = 0) -> list[tuple[bytes, str, str]]:
    """(data, partition key, sequence number) of records as they were put: binary, empty, JSON."""
    payloads = [b'{"PRICE": 1}', b"\xff\xfe\x00 binary", b"", b"x" * 70_000, b'{"TICKER": "AAPL"}']
    return [(payloads[i % 5] + str(start + i).encode(), f"k{i % 2}", SEQUENCES[i]) for i in range(count)]


def put_on_failure_object(s3: Any, records: list[tuple[bytes, str, str]], n: int = 0, **options: Any) -> str:
    key = ON_FAILURE_KEY.format(n=n)
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(make_on_failure_object(records, **options)))
    return key


def keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def file_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def gone_stream() -> FakeKinesis:
    """The stream the records came from, deleted: any read of it fails."""
    kinesis = FakeKinesis()
    kinesis.shards.clear()
    return kinesis


@pytest.mark.parametrize("shape", ["localstack", "aws"])
def test_on_failure_object_is_redriven_to_a_file_byte_for_byte_without_the_stream_then_deleted(
    s3, tmp_path, shape
):
    put = batch()
    key = put_on_failure_object(s3, put, shape=shape)
    kinesis = gone_stream()
    out = tmp_path / "failed.jsonl"

    result = redrive_bucket(s3, kinesis, BUCKET, FileTarget(out))

    lines = file_records(out)
    by_sequence = {line["sequenceNumber"]: line for line in lines}
    assert len(lines) == len(put)
    for data, partition_key, sequence in put:
        line = by_sequence[sequence]
        assert base64.b64decode(line["data"]) == data
        assert (line["partitionKey"], line["shardId"], line["streamArn"]) == (
            partition_key,
            SHARD,
            STREAM_ARN,
        )
        assert line["sha256"] == hashlib.sha256(data).hexdigest()
        assert line["messageId"] == f"s3://{BUCKET}/{key}"
    assert kinesis.get_records_calls == 0 and kinesis.iterator_requests == []
    assert keys(s3) == [], "deleted once its records were written"
    assert (result.messages_read, result.messages_deleted, result.records_written) == (1, 1, 5)
    assert result.clean
    assert result.summary().startswith("redrive: objects read 1")


def test_on_failure_object_is_reput_with_its_partition_keys_in_order(s3):
    put = batch()
    put_on_failure_object(s3, put, shape="aws")
    replay = FakeKinesis()

    result = redrive_bucket(s3, gone_stream(), BUCKET, StreamTarget(replay, "replay"))

    assert replay.data() == [(key, data) for data, key, _ in put]
    assert result.records_reput == 5 and keys(s3) == []


def test_object_missing_a_record_is_kept_whole_and_nothing_written(s3, tmp_path):
    put = batch()
    key = put_on_failure_object(s3, put[:2] + put[3:], batch_size=5)  # one record dropped from the object
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out))

    assert not out.exists()
    assert keys(s3) == [key]
    assert [(u.reason, u.count) for u in result.unrecoverable] == [("count_mismatch", 1)]
    assert "its S3 object holds 4" in result.unrecoverable[0].detail
    assert result.outcomes[0].action == "kept" and not result.clean


def test_object_missing_a_record_with_accept_partial_redrives_the_rest_and_is_deleted(s3, tmp_path):
    put = batch()
    put_on_failure_object(s3, put[:4], batch_size=5)
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out), accept_partial=True)

    assert [line["sequenceNumber"] for line in file_records(out)] == SEQUENCES[:4]
    assert keys(s3) == [] and result.records_unrecoverable == 1


def test_object_is_deleted_only_after_its_records_are_written(s3):
    put_on_failure_object(s3, batch())
    seen: list[list[str]] = []

    class Watching:
        description, puts_to_stream = "watching", False

        def cannot_take(self, record):
            return None

        def write(self, records):
            seen.append(keys(s3))
            return [True] * len(records)

    redrive_bucket(s3, gone_stream(), BUCKET, Watching())

    assert seen == [[ON_FAILURE_KEY.format(n=0)]], "the object was still there while its records were written"
    assert keys(s3) == []


def test_object_whose_records_cannot_be_written_is_kept(s3):
    key = put_on_failure_object(s3, batch(2))
    replay = FakeKinesis()
    replay.fail_entries = [{0}] * 10

    result = redrive_bucket(s3, gone_stream(), BUCKET, StreamTarget(replay, "replay", max_attempts=2))

    assert keys(s3) == [key]
    assert "could not be written" in result.outcomes[0].why


def test_object_whose_delete_fails_is_reported_kept(s3, tmp_path):
    put_on_failure_object(s3, batch(2))

    class NoDelete:
        def __getattr__(self, name):
            return getattr(s3, name)

        def delete_object(self, **_):
            raise client_error("AccessDenied", "DeleteObject")

    result = redrive_bucket(NoDelete(), gone_stream(), BUCKET, FileTarget(tmp_path / "o.jsonl"))

    assert result.records_written == 2
    assert (result.messages_deleted, result.messages_kept) == (0, 1)
    assert "AccessDenied" in result.warnings[0]
    assert "next run redrives it again" in result.outcomes[0].why


def test_dry_run_reads_but_writes_and_deletes_nothing(s3, tmp_path):
    key = put_on_failure_object(s3, batch())
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out), dry_run=True)

    assert not out.exists() and keys(s3) == [key]
    assert [o.action for o in result.outcomes] == ["would delete"]
    assert result.summary().startswith("dry run, nothing written or deleted: objects read 1")


def keep_envelope(s3: Any, body: str, index: int = 0) -> str:
    """An envelope the queue did not take, kept in S3 the way the handler keeps it."""
    store = S3ClaimCheck(BUCKET, client=s3)
    data = body.encode()
    key = object_key(ENVELOPES, "2026-01-01T00:05:00.000Z", "req-1", index, "e" * 64) + ".json"
    return store.put(key, data, sha256=hashlib.sha256(data).hexdigest()).key


def claim_check(s3: Any, payload: bytes, index: int = 0):
    """The handler's claim check for a record too big for a message: the bytes, put by S3ClaimCheck."""
    sha256 = hashlib.sha256(payload).hexdigest()
    key = object_key(PAYLOADS, "2026-01-01T00:05:00.000Z", "req-1", index, sha256)
    return S3ClaimCheck(BUCKET, client=s3).put(key, payload, sha256=sha256)


def test_envelope_kept_in_s3_is_redriven_and_deleted(s3, tmp_path):
    key = keep_envelope(s3, quarantine_body(payload=b"{oops", sequence_number="42", partition_key="AAPL"))
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out))

    [line] = file_records(out)
    assert base64.b64decode(line["data"]) == b"{oops"
    assert (line["sequenceNumber"], line["partitionKey"], line["kind"]) == ("42", "AAPL", "quarantine")
    assert key not in keys(s3) and result.clean


def test_envelope_with_a_claim_check_in_s3_fetches_the_record_and_deletes_both_objects(s3, tmp_path):
    big = b"{" + bytes(range(256)) * 1200
    check = claim_check(s3, big)
    envelope = keep_envelope(s3, quarantine_body(payload=big, sequence_number="7", claim_check=check))
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out))

    [line] = file_records(out)
    assert base64.b64decode(line["data"]) == big and line["sequenceNumber"] == "7"
    assert keys(s3) == [], f"both {envelope} and {check.key} deleted"
    assert result.payload_objects == 1, "the payload object is reached through its envelope, not alone"
    assert result.records_written == 1 and result.clean


def test_payload_object_is_counted_and_left_alone(s3, tmp_path):
    check = claim_check(s3, b"the record's own bytes")

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(tmp_path / "o.jsonl"))

    assert keys(s3) == [check.key]
    assert (result.messages_read, result.payload_objects) == (0, 1)
    assert "claim-check payload objects left for their envelopes 1" in result.summary()
    assert result.to_json()["payloadObjects"] == 1


def test_claim_check_keys_are_told_apart_from_envelopes_and_on_failure_objects():
    sha = "a" * 64
    assert is_claim_check_payload(f"claim-checks/payloads/2026/01/01/req-1/3-{sha}")
    assert is_claim_check_payload(f"payloads/undated/no-request-id/0-{sha}")
    assert not is_claim_check_payload(f"claim-checks/envelopes/2026/01/01/req-1/3-{sha}.json")
    assert not is_claim_check_payload(ON_FAILURE_KEY.format(n=1))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda s3, key: s3.delete_object(Bucket=BUCKET, Key=key), "claim_check_missing"),
        (
            lambda s3, key: s3.put_object(Bucket=BUCKET, Key=key, Body=b"{" + b"?" * 5000),
            "claim_check_mismatch",
        ),
        (lambda s3, key: s3.put_object(Bucket=BUCKET, Key=key, Body=b"short"), "claim_check_mismatch"),
    ],
    ids=["missing", "same-size-other-bytes", "other-size"],
)
def test_envelope_whose_claim_check_is_gone_or_altered_is_kept(s3, tmp_path, tamper, reason):
    payload = b"{" + b"!" * 5000
    check = claim_check(s3, payload)
    envelope = keep_envelope(s3, quarantine_body(payload=payload, claim_check=check))
    tamper(s3, check.key)
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out))

    assert not out.exists()
    assert envelope in keys(s3)
    assert [u.reason for u in result.unrecoverable] == [reason]
    assert f"s3://{BUCKET}/{check.key}" in result.unrecoverable[0].detail


def test_stray_object_is_kept_and_reported(s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="notes.txt", Body=b"hello")

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(tmp_path / "o.jsonl"))

    assert keys(s3) == ["notes.txt"]
    assert [u.reason for u in result.unrecoverable] == ["unreadable_message"]
    assert not result.clean


def test_prefix_filters_and_limit_choose_the_objects(s3, tmp_path):
    for n in range(3):
        put_on_failure_object(s3, batch(1, start=n), n=n)
    envelope = keep_envelope(s3, quarantine_body(payload=b"q"))

    only_lambda = redrive_bucket(
        s3, gone_stream(), BUCKET, FileTarget(tmp_path / "a.jsonl"), prefix="aws/", limit=2
    )
    quarantine_only = redrive_bucket(
        s3,
        gone_stream(),
        BUCKET,
        FileTarget(tmp_path / "b.jsonl"),
        filters=RedriveFilter(kinds=frozenset({"quarantine"})),
    )

    assert only_lambda.messages_deleted == 2
    assert (quarantine_only.messages_read, quarantine_only.messages_skipped) == (2, 1)
    assert keys(s3) == [ON_FAILURE_KEY.format(n=2)] and envelope not in keys(s3)


def test_each_outcome_lists_its_records_with_their_sha256(s3, tmp_path):
    put = batch(3)
    put_on_failure_object(s3, put)
    progress: list[tuple[int, int | None]] = []

    result = redrive_bucket(
        s3, gone_stream(), BUCKET, FileTarget(tmp_path / "o.jsonl"), on_progress=lambda *a: progress.append(a)
    )

    [outcome] = result.to_json()["outcomes"]
    assert [(r["sequenceNumber"], r["sha256"], r["size"], r["written"]) for r in outcome["records"]] == [
        (sequence, hashlib.sha256(data).hexdigest(), len(data), True) for data, _, sequence in put
    ]
    assert progress == [(1, 1)]
    assert result.to_json()["source"] == f"bucket s3://{BUCKET}/"


def test_many_objects_are_settled_in_chunks_and_none_twice(s3, tmp_path):
    for n in range(23):
        put_on_failure_object(s3, batch(2, start=n * 2), n=n)
    out = tmp_path / "o.jsonl"

    result = redrive_bucket(s3, gone_stream(), BUCKET, FileTarget(out))

    assert result.messages_deleted == 23 and keys(s3) == []
    assert len(file_records(out)) == 46
