"""Claim checks: a poison record too big for a quarantine message is kept whole in S3, never as a hash only.

Each test checks records by identity (sequence number -> the bytes kept), not counts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from shardsafe import MemoryQuarantine, StreamProcessor
from shardsafe.core.quarantine.claimcheck import ClaimCheck, ClaimCheckError, MemoryClaimCheck
from shardsafe.core.quarantine.envelope import Envelope, parse_envelope, parse_log_fallback
from shardsafe.core.telemetry import logs
from tests import factories

LEGACY_LIMIT = 262_144  # a queue created before 2025


def big(n: int, size: int = 300_000) -> bytes:
    return b"{not json " + bytes([65 + n]) * size  # poison: invalid JSON, too big for a 256 KiB message


def sequence(position: int) -> str:
    return str(factories.FIRST_SEQUENCE + position)


class Refusing(MemoryClaimCheck):
    """S3 that refuses every write."""

    def put(self, key: str, body: bytes, *, sha256: str, deadline: float | None = None) -> ClaimCheck:
        raise ClaimCheckError("PutObject failed: AccessDenied")


class Unreachable(MemoryQuarantine):
    """A queue that takes nothing."""

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        return [
            (position, "SendMessageBatch failed: EndpointConnectionError")
            for position in range(len(envelopes))
        ]


def fallback_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == logs.QUARANTINE_FALLBACK]


def test_a_record_too_big_for_the_message_is_kept_in_s3_and_the_envelope_points_there(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    store = MemoryClaimCheck(bucket="failures")
    quarantine = MemoryQuarantine(max_message_bytes=LEGACY_LIMIT, claim_checks=store)
    records = [factories.tick(), big(0), b"small poison", big(1)]
    StreamProcessor(quarantine=quarantine, metrics=False).process(
        factories.kinesis_event(records), factories.FakeContext()
    )
    by_sequence = {envelope.record["sequenceNumber"]: envelope for envelope in quarantine.envelopes}
    assert set(by_sequence) == {sequence(1), sequence(2), sequence(3)}
    for position in (1, 3):
        envelope = by_sequence[sequence(position)]
        assert envelope.claim_check is not None and not envelope.truncated
        assert envelope.claim_check.bucket == "failures"
        assert envelope.claim_check.key.startswith("claim-checks/payloads/")
        assert store.objects[envelope.claim_check.key] == records[position]
        assert envelope.size_with_attributes() <= LEGACY_LIMIT
        parsed = parse_envelope(envelope.to_body())
        assert parsed is not None and parsed.claim_check == envelope.claim_check
        assert json.loads(envelope.to_body())["payload"]["s3"] == envelope.claim_check.to_dict()
    assert by_sequence[sequence(2)].payload_bytes() == b"small poison"
    assert len(store.objects) == 2, "a record that fits the message is not written to S3"
    assert fallback_lines(log_lines()) == [], "what S3 keeps is not written to the log as well"


def test_when_s3_refuses_the_record_is_logged_in_full_and_the_envelope_says_why(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    quarantine = MemoryQuarantine(max_message_bytes=LEGACY_LIMIT, claim_checks=Refusing())
    payload = big(0)
    StreamProcessor(quarantine=quarantine, metrics=False).process(factories.kinesis_event([payload]))
    [envelope] = quarantine.envelopes
    assert envelope.truncated and envelope.claim_check is None
    lines = fallback_lines(log_lines())
    [document] = logs.reassemble(lines, "payload_base64")
    assert "AccessDenied" in document["why"]
    restored = parse_log_fallback(document)
    assert restored is not None and restored.payload_bytes() == payload


def test_when_the_queue_is_unreachable_s3_keeps_the_whole_envelope(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    store = MemoryClaimCheck(bucket="failures")
    quarantine = Unreachable(max_message_bytes=LEGACY_LIMIT, claim_checks=store)
    records = [b"small poison", big(1)]
    StreamProcessor(quarantine=quarantine, metrics=False).process(
        factories.kinesis_event(records), factories.FakeContext()
    )
    envelopes = {key: body for key, body in store.objects.items() if "/envelopes/" in key}
    assert len(envelopes) == 2
    kept = {}
    for body in envelopes.values():
        envelope = parse_envelope(body)
        assert envelope is not None
        if envelope.claim_check is not None:  # the big one: its bytes in their own object
            kept[envelope.record["sequenceNumber"]] = store.objects[envelope.claim_check.key]
        else:
            kept[envelope.record["sequenceNumber"]] = envelope.payload_bytes()
    assert kept == {sequence(0): records[0], sequence(1): records[1]}
    lines = log_lines()
    assert fallback_lines(lines) == []
    said = [line for line in lines if line["event"] == logs.QUARANTINE_S3]
    assert sorted(line["s3"]["key"] for line in said) == sorted(envelopes)
    assert all("EndpointConnectionError" in line["why"] for line in said)


def test_when_neither_queue_nor_s3_takes_it_the_log_has_every_byte(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    quarantine = Unreachable(max_message_bytes=LEGACY_LIMIT, claim_checks=Refusing())
    records = [b"small poison", big(1)]
    StreamProcessor(quarantine=quarantine, metrics=False).process(factories.kinesis_event(records))
    restored = {}
    for document in logs.reassemble(fallback_lines(log_lines()), "payload_base64"):
        envelope = parse_log_fallback(document)
        assert envelope is not None
        assert "AccessDenied" in document["why"]
        restored[envelope.record["sequenceNumber"]] = envelope.payload_bytes()
    assert restored == {sequence(0): records[0], sequence(1): records[1]}


def test_a_store_object_is_the_record_exactly_not_base64() -> None:
    store = MemoryClaimCheck()
    quarantine = MemoryQuarantine(max_message_bytes=LEGACY_LIMIT, claim_checks=store)
    payload = bytes(range(256)) * 1_200  # binary, 300 KB
    StreamProcessor(quarantine=quarantine, metrics=False).process(factories.kinesis_event([payload]))
    [envelope] = quarantine.envelopes
    assert envelope.claim_check is not None
    assert store.objects[envelope.claim_check.key] == payload
    assert base64.b64encode(payload).decode() not in store.objects.values()
