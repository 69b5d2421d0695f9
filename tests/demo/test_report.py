"""The demo's report: what is unaccounted for is named, and records are counted by producer kind."""

from __future__ import annotations

import hashlib

from shardsafe_harness.accounting import GOOD_KINDS, ManifestRecord, Observed, reconcile
from shardsafe_harness.stack import Stack

from demo.report import report
from shardsafe.core.quarantine.envelope import build_envelope

SHARD = "shardId-000000000000"
STACK = Stack(
    "http://127.0.0.1:4566",
    {"output_bucket_name": "out"},
    {"shard_count": 1, "maximum_retry_attempts": 2, "maximum_record_age_in_seconds": 60},
)


def manifest(kind: str, sequence_number: int, data: bytes = b"{}") -> ManifestRecord:
    return ManifestRecord(kind, SHARD, sequence_number, hashlib.sha256(data).hexdigest(), "pk")


def test_the_report_names_what_is_unaccounted_for() -> None:
    lost = manifest("good", 9)
    text = report(STACK, reconcile([lost], Observed(), GOOD_KINDS), elapsed_s=1.0, not_put=0)
    assert "unaccounted        1" in text
    assert f"verdict       FAIL: 1 records unaccounted for, e.g. {SHARD}/9 (good)" in text

    processed = manifest("good", 1)
    observed = Observed()
    observed.processed[processed.coordinates] = [{}]
    assert "verdict       PASS" in report(STACK, reconcile([processed], observed, GOOD_KINDS), 1.0, 0)


def test_the_report_counts_records_by_producer_kind_with_their_reasons() -> None:
    good, empty, also_empty = manifest("good", 1), manifest("empty", 2, b""), manifest("empty", 3, b"")
    observed = Observed()
    observed.processed[good.coordinates] = [{}]
    for record in (empty, also_empty):
        envelope = build_envelope(
            reason="empty",
            payload=b"",
            record={
                "eventSource": "aws:kinesis",
                "shardId": SHARD,
                "sequenceNumber": str(record.sequence_number),
            },
        )
        observed.quarantined[record.coordinates] = [envelope]

    lines = report(STACK, reconcile([good, empty, also_empty], observed, GOOD_KINDS), 1.0, 0).splitlines()

    assert "produced           3  (1 good, 2 poison, 0 crash)" in lines
    assert [line.split() for line in lines if line.startswith("  ")][-2:] == [
        ["good", "1", "1", "0", "0", "0"],
        ["empty", "2", "0", "2", "0", "0", "empty", "2"],
    ]


def test_a_poison_kind_quarantined_for_another_reason_than_the_catalogues_fails_the_demo() -> None:
    record = manifest("empty", 2, b"")
    observed = Observed()
    observed.quarantined[record.coordinates] = [
        build_envelope(
            reason="invalid_json",  # the catalogue says "empty"
            payload=b"",
            record={"eventSource": "aws:kinesis", "shardId": SHARD, "sequenceNumber": "2"},
        )
    ]
    text = report(STACK, reconcile([record], observed, GOOD_KINDS), 1.0, 0)
    assert (
        "FAIL: quarantined for another reason than the catalogue gives: empty (invalid_json; expected empty)"
        in text
    )


def test_the_recovery_is_complete_only_when_every_count_is_whole_and_nothing_is_unrecoverable() -> None:
    from demo.report import recovery_complete

    whole = "from S3   3  records, 3/3 byte-identical\nfrom SQS 9 records, 9/9 byte-identical, 2/2 of them\nunrecoverable: 0"
    assert recovery_complete(whole)
    assert recovery_complete(None)
    assert not recovery_complete(whole.replace("3/3", "2/3"))
    assert not recovery_complete(whole.replace("2/2 of them", "1/2 of them"))
    assert not recovery_complete(whole.replace("unrecoverable: 0", "unrecoverable: 1"))


def test_counts_read_as_sentences_for_one_and_for_many() -> None:
    from demo.report import plural

    assert plural(1, "record") == "1 record"
    assert plural(99, "record") == "99 records"
    assert plural(0, "batch", "batches") == "0 batches"
