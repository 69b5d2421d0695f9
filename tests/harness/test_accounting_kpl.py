"""The accounting of KPL user records: each placed by its aggregate's coordinates and its sub-sequence number."""

from __future__ import annotations

import hashlib
import json

from shardsafe_harness.accounting import GOOD_KINDS, ManifestRecord, Observed, keyed_payloads, reconcile

from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.ops.failures import FailedBatch, StreamRecord, classify
from shardsafe.ops.produce.aggregate import encode_aggregate

SHARD = "shardId-000000000000"
GOOD, BAD = b'{"TICKER": "A"}', b"\xff"


def user(kind: str, sequence_number: int, sub: int, data: bytes) -> ManifestRecord:
    return ManifestRecord(kind, SHARD, sequence_number, hashlib.sha256(data).hexdigest(), "pk", sub)


def quarantine_envelope(record: ManifestRecord, data: bytes) -> object:
    envelope = build_envelope(
        reason="invalid_utf8",
        payload=data,
        record={
            "eventSource": "aws:kinesis",
            "eventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "shardId": SHARD,
            "sequenceNumber": str(record.sequence_number),
            "subSequenceNumber": record.sub_sequence_number,
            "partitionKey": "pk",
        },
    )
    return classify(envelope.to_body(), "m-1")


def test_user_records_of_one_aggregate_are_told_apart_by_their_sub_sequence_numbers() -> None:
    good, bad = user("good", 7, 0, GOOD), user("binary", 7, 1, BAD)
    plain = ManifestRecord("good", SHARD, 8, hashlib.sha256(GOOD).hexdigest(), "pk")
    observed = Observed()
    observed.processed[good.key] = [{"sequenceNumber": "7", "subSequenceNumber": 0}]
    observed.processed[plain.key] = [{"sequenceNumber": "8"}]
    message = quarantine_envelope(bad, BAD)
    observed.quarantined[(SHARD, 7, 1)] = [message.envelope]  # type: ignore[attr-defined]

    result = reconcile([good, bad, plain], observed, GOOD_KINDS)

    assert (result.processed, result.quarantined, result.unaccounted) == ([good, plain], [bad], [])
    assert plain.key == plain.coordinates == (SHARD, 8) and bad.key == (SHARD, 7, 1)
    assert result.sound
    assert {kind: tally.produced for kind, tally in result.by_kind(aggregated=True).items()} == {
        "good": 1,
        "binary": 1,
    }
    assert {kind: tally.produced for kind, tally in result.by_kind(aggregated=False).items()} == {"good": 1}


def test_a_quarantined_user_record_with_other_bytes_is_a_payload_mismatch() -> None:
    bad = user("binary", 7, 1, BAD)
    observed = Observed()
    observed.quarantined[bad.key] = [quarantine_envelope(bad, b"\xfe").envelope]  # type: ignore[attr-defined]
    assert reconcile([bad], observed, GOOD_KINDS).payload_mismatches == [bad]


def test_user_records_in_an_on_failure_batch_are_checked_against_the_aggregate_it_carries() -> None:
    data = encode_aggregate([("pk", None, GOOD), ("pk", None, BAD)])
    records = [user("good", 7, 0, GOOD), user("binary", 7, 1, BAD)]
    batch = FailedBatch(
        message_id="s3://b/k",
        source="kinesis",
        stream_arn="arn",
        shard_id=SHARD,
        start=7,
        end=7,
        size=1,
        condition="RetryAttemptsExhausted",
        attempts=3,
        first_arrival=None,
        failed_at=None,
        function_arn=None,
        body={},
        records=(StreamRecord(data, "pk", "7"),),
    )
    observed = Observed(failure_batches=[batch])
    result = reconcile(records, observed, GOOD_KINDS)
    assert result.in_failure_batches == records and result.payload_mismatches == []

    tampered = Observed(
        failure_batches=[FailedBatch(**{**batch.__dict__, "records": (StreamRecord(GOOD, "pk", "7"),)})]
    )
    assert reconcile(records, tampered, GOOD_KINDS).payload_mismatches == records


def test_an_aggregate_read_back_accounts_for_itself_and_each_user_record() -> None:
    data = encode_aggregate([("a", None, GOOD), ("b", "9", BAD)])
    assert keyed_payloads(SHARD, 7, data) == [((SHARD, 7), data), ((SHARD, 7, 0), GOOD), ((SHARD, 7, 1), BAD)]
    assert keyed_payloads(SHARD, 7, BAD, 1) == [((SHARD, 7, 1), BAD)]
    assert keyed_payloads(SHARD, 8, GOOD) == [((SHARD, 8), GOOD)]
    assert json.loads(GOOD)  # the good one is a tick
