"""The demo's report on KPL aggregates: their user records counted apart, by kind, and a poison one required."""

from __future__ import annotations

import hashlib

from shardsafe_harness.accounting import GOOD_KINDS, ManifestRecord, Observed, reconcile

from demo.report import report
from shardsafe.core.quarantine.envelope import build_envelope
from tests.demo.test_report import SHARD, STACK


def record(kind: str, sequence_number: int, sub: int | None, data: bytes = b"{}") -> ManifestRecord:
    return ManifestRecord(kind, SHARD, sequence_number, hashlib.sha256(data).hexdigest(), "pk", sub)


def quarantined(
    observed: Observed, manifest: ManifestRecord, data: bytes, reason: str = "invalid_utf8"
) -> None:
    observed.quarantined[manifest.key] = [
        build_envelope(
            reason=reason,
            payload=data,
            record={
                "eventSource": "aws:kinesis",
                "shardId": SHARD,
                "sequenceNumber": str(manifest.sequence_number),
            },
        )
    ]


def test_user_records_are_counted_apart_and_by_kind() -> None:
    plain, first, poison = record("good", 1, None), record("good", 2, 0), record("binary", 2, 1, b"\xff")
    observed = Observed()
    observed.processed[plain.key] = [{}]
    observed.processed[first.key] = [{}]
    quarantined(observed, poison, b"\xff")

    lines = report(STACK, reconcile([plain, first, poison], observed, GOOD_KINDS), 1.0, 0).splitlines()

    assert (
        "produced           3  (2 good, 1 poison, 0 crash); 2 of them user records in KPL aggregates" in lines
    )
    assert any(line.startswith("processed          2") and "1 of them user records" in line for line in lines)
    kpl = [line for line in lines if line.startswith("KPL ") and "aggregated" in line]
    assert kpl == [
        "KPL                1  aggregated Kinesis records holding 2 user records: "
        "processed 1, quarantined 1, on-failure 0, unaccounted 0"
    ]
    assert "1/1 byte-identical" in lines[lines.index(kpl[0]) + 1]
    table = lines[lines.index(next(line for line in lines if line.startswith("KPL user records"))) :]
    assert [line.split() for line in table[1:3]] == [
        ["good", "1", "1", "0", "0", "0"],
        ["binary", "1", "0", "1", "0", "0", "invalid_utf8", "1"],
    ]
    assert any(line.startswith("verdict       PASS") for line in lines)


def test_aggregates_without_a_quarantined_poison_user_record_fail_the_demo() -> None:
    plain_poison, first = record("binary", 1, None, b"\xff"), record("good", 2, 0)
    observed = Observed()
    quarantined(observed, plain_poison, b"\xff")
    observed.processed[first.key] = [{}]
    text = report(STACK, reconcile([plain_poison, first], observed, GOOD_KINDS), 1.0, 0)
    assert "no poison user record inside a KPL aggregate was quarantined" in text
