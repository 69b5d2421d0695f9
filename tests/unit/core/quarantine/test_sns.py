"""SnsQuarantine: PublishBatch in groups of 10 within the topic's message size, failures by position."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shardsafe import SnsQuarantine, SqsQuarantine, build_envelope, reasons
from shardsafe.core.errors import ConfigurationError
from shardsafe.core.quarantine import SINK_ENV, sink_from_environment
from shardsafe.core.quarantine.envelope import Envelope
from shardsafe.core.quarantine.sns import MAX_MESSAGE_BYTES_ENV, TOPIC_ARN_ENV

TOPIC_ARN = "arn:aws:sns:eu-west-1:000000000000:quarantine"


def envelopes(count: int, size: int = 10) -> list[Envelope]:
    return [
        build_envelope(
            reason=reasons.INVALID_JSON, payload=bytes([n % 256]) * size, record={"sequenceNumber": str(n)}
        )
        for n in range(count)
    ]


class FakeSns:
    """Records every PublishBatch call; ``script`` says what each call does to each entry."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.script = list(script or [])
        self.published: list[str] = []

    def publish_batch(
        self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]
    ) -> dict[str, Any]:
        assert TopicArn == TOPIC_ARN
        entries = PublishBatchRequestEntries
        self.calls.append(entries)
        action = self.script.pop(0) if self.script else "ok"
        if isinstance(action, Exception):
            raise action
        successful, failed = [], []
        for position, entry in enumerate(entries):
            if action == "ok" or (action == "refuse-second" and position != 1):
                successful.append({"Id": entry["Id"], "MessageId": "m"})
                self.published.append(entry["Message"])
            elif action == "refuse-second":
                failed.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": "InvalidParameter", "Message": "no"}
                )
            else:
                failed.append(
                    {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "later"}
                )
        return {"Successful": successful, "Failed": failed}


def sink(client: FakeSns, **options: Any) -> SnsQuarantine:
    return SnsQuarantine(TOPIC_ARN, client=client, base_delay=0.0, **options)


def test_envelopes_are_published_ten_per_call_with_the_quarantine_attributes() -> None:
    client = FakeSns()
    assert sink(client, max_message_bytes=262_144).send(envelopes(23)) == []
    assert [len(call) for call in client.calls] == [10, 10, 3]
    entry = client.calls[0][0]
    assert entry["MessageAttributes"]["shardsafe-reason"] == {
        "DataType": "String",
        "StringValue": "invalid_json",
    }
    assert [json.loads(body)["record"]["sequenceNumber"] for body in client.published] == [
        str(n) for n in range(23)
    ]


def test_a_call_carries_no_more_than_the_topics_message_size() -> None:
    client = FakeSns()
    quarantine = sink(client, max_message_bytes=262_144)
    assert quarantine.send(envelopes(5, size=60_000)) == []  # 80 KB each in base64: three fit a call
    assert [len(call) for call in client.calls] == [3, 2]
    for call in client.calls:
        assert sum(quarantine.message_size(e) for e in envelopes(len(call), size=60_000)) <= 262_144


def test_a_refused_entry_is_reported_by_its_position_in_what_send_was_given() -> None:
    client = FakeSns(["refuse-second"])
    undelivered = sink(client, max_message_bytes=262_144).send(envelopes(3))
    assert undelivered == [(1, "SNS refused the message: InvalidParameter: no")]
    assert len(client.calls) == 1  # the sender's fault: not retried


def test_a_topic_that_keeps_failing_returns_every_position_after_the_last_attempt() -> None:
    client = FakeSns([ConnectionError("down")] * 5)
    undelivered = sink(client, max_attempts=2, max_message_bytes=262_144).send(envelopes(12))
    assert sorted(position for position, _ in undelivered) == list(range(12))
    assert len(client.calls) == 2  # the second group is not tried against a topic that just failed
    assert all("PublishBatch failed: ConnectionError('down')" in why for _, why in undelivered)


def test_the_topic_and_its_limit_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOPIC_ARN_ENV, TOPIC_ARN)
    monkeypatch.setenv(MAX_MESSAGE_BYTES_ENV, "1048576")
    client = FakeSns()
    quarantine = SnsQuarantine(client=client)
    assert quarantine.max_message_bytes == quarantine.batch_bytes == 1_048_576
    assert quarantine.send(envelopes(1)) == []
    monkeypatch.delenv(TOPIC_ARN_ENV)
    assert SnsQuarantine(client=client).send(envelopes(1)) == [
        (0, f"no quarantine topic: {TOPIC_ARN_ENV} is not set")
    ]


def test_a_limit_sns_does_not_allow_is_refused_with_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_MESSAGE_BYTES_ENV, "2000000")
    with pytest.raises(ConfigurationError, match=r"topic's MaximumMessageSize.*1024 to 1048576"):
        SnsQuarantine()


def test_the_environment_names_the_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_MESSAGE_BYTES_ENV, raising=False)
    monkeypatch.delenv(SINK_ENV, raising=False)
    assert type(sink_from_environment()) is SqsQuarantine
    monkeypatch.setenv(SINK_ENV, "SNS")
    chosen = sink_from_environment()
    assert type(chosen) is SnsQuarantine and chosen.max_message_bytes == 262_144
    monkeypatch.setenv(SINK_ENV, "kafka")
    with pytest.raises(ConfigurationError, match=r"SHARDSAFE_QUARANTINE_SINK='kafka'.*\['sns', 'sqs'\]"):
        sink_from_environment()
