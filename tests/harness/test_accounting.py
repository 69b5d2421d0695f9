"""The demo's and the e2e suite's accounting: every produced record placed, and problems named."""

from __future__ import annotations

import hashlib
from typing import Any

from shardsafe_localstack.accounting import FailureBatch, ManifestRecord, Observed, reconcile
from shardsafe_localstack.demo import report
from shardsafe_localstack.pipeline import GOOD_KINDS, Stack

from shardsafe.envelope import build_envelope

SHARD = "shardId-000000000000"


def manifest(kind: str, sequence_number: int, data: bytes = b"{}") -> ManifestRecord:
    return ManifestRecord(kind, SHARD, sequence_number, hashlib.sha256(data).hexdigest(), "pk")


def quarantined(
    observed: Observed, record: ManifestRecord, payload: bytes, reason: str = "invalid_json"
) -> None:
    envelope = build_envelope(
        reason=reason,
        payload=payload,
        record={
            "eventSource": "aws:kinesis",
            "shardId": SHARD,
            "sequenceNumber": str(record.sequence_number),
        },
    )
    observed.quarantined.setdefault(record.coordinates, []).append(envelope)


def failure_batch(start: int, end: int) -> FailureBatch:
    body: dict[str, Any] = {
        "KinesisBatchInfo": {
            "shardId": SHARD,
            "startSequenceNumber": str(start),
            "endSequenceNumber": str(end),
            "batchSize": end - start + 1,
        }
    }
    return FailureBatch.from_message(body, "m-1")


def test_each_record_lands_in_exactly_one_place() -> None:
    good, poison, crashed, lost = (
        manifest("good", 1),
        manifest("truncated_json", 2, b"{x"),
        manifest("good", 5),
        manifest("good", 9),
    )
    observed = Observed()
    observed.processed[good.coordinates] = [{"sequenceNumber": "1"}]
    quarantined(observed, poison, b"{x")
    observed.failure_batches.append(failure_batch(4, 6))

    result = reconcile([good, poison, crashed, lost], observed, GOOD_KINDS)

    assert result.processed == [good]
    assert result.quarantined == [poison]
    assert result.quarantine_reasons == {"invalid_json": 1}
    assert result.in_failure_batches == [crashed]
    assert result.unaccounted == [lost]
    assert not result.complete
    assert not result.sound


def test_a_changed_payload_and_misplaced_kinds_make_the_result_unsound() -> None:
    poison, good = manifest("truncated_json", 2, b"{x"), manifest("good", 3)
    observed = Observed()
    quarantined(observed, poison, b"{y")  # not what was put
    quarantined(observed, good, b"{}")  # a good record quarantined

    result = reconcile([poison, good], observed, GOOD_KINDS)

    assert result.complete
    assert result.payload_mismatches == [poison]
    assert result.good_quarantined == [good]
    assert not result.sound


def test_the_report_names_what_is_unaccounted_for() -> None:
    stack = Stack(
        "http://127.0.0.1:4566",
        {"output_bucket_name": "out"},
        {"shard_count": 1, "maximum_retry_attempts": 2, "maximum_record_age_in_seconds": 60},
    )
    lost = manifest("good", 9)
    text = report(stack, reconcile([lost], Observed(), GOOD_KINDS), elapsed_s=1.0, not_put=0)
    assert "unaccounted        1" in text
    assert f"verdict       FAIL: 1 records unaccounted for, e.g. {SHARD}/9 (good)" in text

    processed = manifest("good", 1)
    observed = Observed()
    observed.processed[processed.coordinates] = [{}]
    assert "verdict       PASS" in report(stack, reconcile([processed], observed, GOOD_KINDS), 1.0, 0)
