"""SqsQuarantine: SendMessageBatch in groups of 10 within 256 KiB, failed entries retried with backoff."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shardsafe import SqsQuarantine, build_envelope, reasons
from shardsafe.core.quarantine.envelope import Envelope
from shardsafe.core.quarantine.sqs import QUEUE_URL_ENV

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/quarantine"


def envelopes(count: int, size: int = 10) -> list[Envelope]:
    return [
        build_envelope(
            reason=reasons.INVALID_JSON, payload=bytes([n % 256]) * size, record={"sequenceNumber": str(n)}
        )
        for n in range(count)
    ]


class FakeSqs:
    """Records every SendMessageBatch call; ``script`` says what each call does."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.script = list(script or [])
        self.delivered: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert QueueUrl == QUEUE_URL
        self.calls.append(Entries)
        action = self.script.pop(0) if self.script else "ok"
        if isinstance(action, Exception):
            raise action
        successful, failed = [], []
        for position, entry in enumerate(Entries):
            if action == "ok" or (action == "fail-first" and position > 0):
                successful.append({"Id": entry["Id"], "MessageId": "m"})
                self.delivered.append(entry["MessageBody"])
            elif action == "sender-fault":
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "x"}
                )
            else:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try later"}
                )
        return {"Successful": successful, "Failed": failed}


def sink(client: FakeSqs, **options: Any) -> SqsQuarantine:
    return SqsQuarantine(QUEUE_URL, client=client, base_delay=0.0, **options)


def test_envelopes_are_sent_ten_per_call_with_the_quarantine_attributes() -> None:
    client = FakeSqs()
    assert sink(client).send(envelopes(23)) == []
    assert [len(call) for call in client.calls] == [10, 10, 3]
    entry = client.calls[0][0]
    assert entry["MessageAttributes"]["shardsafe-kind"] == {"DataType": "String", "StringValue": "quarantine"}
    assert json.loads(entry["MessageBody"])["shardsafe"] == "quarantine"
    assert len(client.delivered) == 23


def test_a_call_never_exceeds_the_batch_byte_limit() -> None:
    client = FakeSqs()
    assert sink(client).send(envelopes(6, size=300_000)) == []  # 400 KB each in base64
    assert [len(call) for call in client.calls] == [2, 2, 2]
    for call in client.calls:
        assert sum(len(entry["MessageBody"]) for entry in call) <= 1_048_576


def test_failed_entries_are_retried_until_delivered() -> None:
    client = FakeSqs(["fail-first", "ok"])
    assert sink(client).send(envelopes(3)) == []
    assert [len(call) for call in client.calls] == [3, 1]
    assert len(client.delivered) == 3


def test_sender_faults_are_not_retried_and_are_returned_undelivered() -> None:
    client = FakeSqs(["sender-fault"])
    undelivered = sink(client).send(envelopes(2))
    assert len(client.calls) == 1
    assert [why for _, why in undelivered] == ["SQS refused the message: InvalidMessageContents: x"] * 2


def test_a_queue_that_keeps_failing_returns_everything_after_the_last_attempt() -> None:
    client = FakeSqs([ConnectionError("down")] * 10)
    undelivered = sink(client, max_attempts=3).send(envelopes(4))
    assert len(client.calls) == 3
    assert len(undelivered) == 4
    assert "ConnectionError('down')" in undelivered[0][1]


def test_backoff_sleeps_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("shardsafe.core.quarantine.batching.time.sleep", sleeps.append)
    SqsQuarantine(QUEUE_URL, client=FakeSqs(["fail", "fail", "ok"]), base_delay=0.1).send(envelopes(1))
    assert len(sleeps) == 2
    assert 0.05 <= sleeps[0] <= 0.15 and 0.1 <= sleeps[1] <= 0.3


def test_without_a_queue_url_nothing_is_sent_and_all_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUEUE_URL_ENV, raising=False)
    undelivered = SqsQuarantine(client=FakeSqs()).send(envelopes(2))
    assert [why for _, why in undelivered] == [f"no quarantine queue: {QUEUE_URL_ENV} is not set"] * 2


def test_the_queue_url_is_read_from_the_environment_at_send_time(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeSqs()
    quarantine = SqsQuarantine(client=client)
    monkeypatch.setenv(QUEUE_URL_ENV, QUEUE_URL)
    assert quarantine.send(envelopes(1)) == []
    assert len(client.delivered) == 1
