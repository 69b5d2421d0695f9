"""The harness's accounting (the demo's and the e2e suite's): every produced record placed, problems named."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from shardsafe_harness.accounting import GOOD_KINDS, ManifestRecord, Observed, reconcile

from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.ops.failures import FailedBatch, StreamRecord

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


def failure_batch(start: int, end: int) -> FailedBatch:
    body: dict[str, Any] = {
        "KinesisBatchInfo": {
            "streamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "shardId": SHARD,
            "startSequenceNumber": str(start),
            "endSequenceNumber": str(end),
            "batchSize": end - start + 1,
        }
    }
    return FailedBatch.from_message(body, "m-1")


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


def test_the_tally_by_kind_places_each_record_once_with_its_quarantine_reasons() -> None:
    good, crashed, lost = manifest("good", 1), manifest("crash", 5), manifest("good", 9)
    truncated, binary = manifest("truncated_json", 2, b"{x"), manifest("binary", 3, b"\xff")
    observed = Observed()
    observed.processed[good.coordinates] = [{"sequenceNumber": "1"}]
    quarantined(observed, truncated, b"{x")
    quarantined(observed, binary, b"\xff", reason="invalid_utf8")
    observed.failure_batches.append(failure_batch(4, 6))

    tallies = reconcile([good, truncated, binary, crashed, lost], observed, GOOD_KINDS).by_kind()

    assert list(tallies) == ["good", "truncated_json", "binary", "crash"], "in the order first produced"
    assert (tallies["good"].produced, tallies["good"].places) == (2, {"processed": 1, "unaccounted": 1})
    assert tallies["truncated_json"].places == {"quarantined": 1}
    assert tallies["truncated_json"].reasons == {"invalid_json": 1}
    assert tallies["binary"].reasons == {"invalid_utf8": 1}
    assert (tallies["crash"].produced, tallies["crash"].places) == (1, {"on-failure": 1})


def test_a_claim_checked_record_is_intact_only_when_its_object_holds_its_bytes() -> None:
    data = b"{not json " + b"x" * 100
    record = manifest("oversized", 3, data)
    envelope = build_envelope(
        reason="invalid_json",
        payload=data,
        record={"eventSource": "aws:kinesis", "shardId": SHARD, "sequenceNumber": "3"},
    ).with_claim_check(ClaimCheck("failures", "claim-checks/payloads/k"))
    observed = Observed()
    observed.quarantined[record.coordinates] = [envelope]
    observed.claim_checked["failures/claim-checks/payloads/k"] = data
    assert reconcile([record], observed, GOOD_KINDS).sound
    observed.claim_checked["failures/claim-checks/payloads/k"] = data[:-1]
    assert reconcile([record], observed, GOOD_KINDS).payload_mismatches == [record]
    del observed.claim_checked["failures/claim-checks/payloads/k"]
    assert reconcile([record], observed, GOOD_KINDS).payload_mismatches == [record], "an object never read"


def test_records_carried_by_an_s3_on_failure_object_are_checked_byte_for_byte() -> None:
    crashed, other = manifest("good", 5, b'{"n": 5}'), manifest("good", 6, b'{"n": 6}')
    batch = failure_batch(5, 6)
    carried = replace(
        batch,
        records=(StreamRecord(b'{"n": 5}', "pk", "5"), StreamRecord(b'{"n": 6, "changed": 1}', "pk", "6")),
    )
    observed = Observed()
    observed.failure_batches.append(carried)
    result = reconcile([crashed, other], observed, GOOD_KINDS)
    assert result.in_failure_batches == [crashed, other]
    assert result.payload_mismatches == [other]


def test_the_collector_makes_the_messages_it_read_visible_again_for_a_redrive() -> None:
    from shardsafe_harness.accounting import Collector

    class Sqs:
        def __init__(self) -> None:
            self.messages = [
                {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": "{}"} for n in range(12)
            ]
            self.released: list[str] = []

        def receive_message(self, **_: Any) -> dict[str, Any]:
            taken, self.messages = self.messages[:10], self.messages[10:]
            return {"Messages": taken}

        def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
            assert len(Entries) <= 10 and all(entry["VisibilityTimeout"] == 0 for entry in Entries)
            self.released += [entry["ReceiptHandle"] for entry in Entries]

    class S3:
        def get_paginator(self, _: str) -> Any:
            return self

        def paginate(self, **_: Any) -> list[dict[str, Any]]:
            return []

    sqs = Sqs()
    collector = Collector(S3(), sqs, bucket="out", queue_url="q")
    collector.poll()
    assert len(collector.observed.other_messages) == 12
    collector.release()
    assert sorted(sqs.released) == sorted(f"r{n}" for n in range(12))
