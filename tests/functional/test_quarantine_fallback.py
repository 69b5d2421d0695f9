"""When the quarantine queue cannot take a record, its full envelope goes to the log: nothing is dropped."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from shardsafe import SqsQuarantine, StreamProcessor
from shardsafe.core.quarantine.envelope import Envelope, parse_log_fallback
from shardsafe.core.telemetry import logs
from tests import factories


def fallback_payloads(lines: list[dict[str, Any]]) -> list[bytes]:
    payloads = []
    fallbacks = [line for line in lines if line["event"] == "shardsafe.quarantine_fallback"]
    for document in logs.reassemble(fallbacks, "payload_base64"):
        envelope = parse_log_fallback(document)
        assert envelope is not None
        payloads.append(envelope.payload_bytes() or b"")
    return payloads


class HalfBroken:
    """Takes every other envelope."""

    max_message_bytes = 262_144

    def __init__(self) -> None:
        self.taken: list[Envelope] = []

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        self.taken.extend(envelopes[::2])
        return [(position, "partial failure") for position in range(1, len(envelopes), 2)]


class Exploding:
    max_message_bytes = 262_144

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        raise RuntimeError("bug in the sink")


def test_envelopes_the_sink_did_not_take_are_logged_in_full(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    payloads = [b"bad-0", b"bad-1", b"bad-2", b"bad-3"]
    sink = HalfBroken()
    result = StreamProcessor(quarantine=sink, metrics=False).process(factories.kinesis_event(payloads))
    assert result.response == {"batchItemFailures": []}
    assert [envelope.payload_bytes() for envelope in sink.taken] == [b"bad-0", b"bad-2"]
    lines = log_lines()
    assert fallback_payloads(lines) == [b"bad-1", b"bad-3"]
    [summary] = [line for line in lines if line["event"] == "shardsafe.batch"]
    assert summary["quarantine_fallback"] == 2 and summary["quarantined"] == 4


def test_a_sink_that_raises_falls_back_to_the_log(log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    result = StreamProcessor(quarantine=Exploding(), metrics=False).process(
        factories.kinesis_event([b"x", b"y"])
    )
    assert result.response == {"batchItemFailures": []}
    assert fallback_payloads(log_lines()) == [b"x", b"y"]


def test_no_queue_configured_logs_the_full_payload(
    monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    monkeypatch.delenv("SHARDSAFE_QUARANTINE_QUEUE_URL", raising=False)
    StreamProcessor(metrics=False)(factories.kinesis_event([b"\x00\x01poison"]))
    [line] = [line for line in log_lines() if line["event"] == "shardsafe.quarantine_fallback"]
    assert "SHARDSAFE_QUARANTINE_QUEUE_URL is not set" in line["why"]
    assert base64.b64decode(line["payload_base64"]) == b"\x00\x01poison"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_queue_falls_back_to_the_log(
    monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    pytest.importorskip("boto3")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sink = SqsQuarantine(f"{endpoint}/000000000000/quarantine", max_attempts=2, base_delay=0.01)
    payloads = [b"poison-%d" % n for n in range(12)]
    result = StreamProcessor(quarantine=sink, metrics=False).process(factories.kinesis_event(payloads))
    assert result.response == {"batchItemFailures": []}
    lines = log_lines()
    assert sorted(fallback_payloads(lines)) == sorted(payloads)
    assert all(
        "SendMessageBatch failed" in line["why"]
        for line in lines
        if line["event"] == "shardsafe.quarantine_fallback"
    )
