"""The SNS quarantine sink against real SNS on LocalStack: each poison record's envelope is published
once, reaches the topic's durable subscriber (an SQS queue with raw message delivery, as the module's
``quarantine.kind = "sns"`` makes it) with its attributes, and carries the payload byte for byte; what
SNS refuses is kept in the log, never lost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shardsafe_harness.resources import Resources

from shardsafe import SnsQuarantine, StreamProcessor, parse_envelope, reasons
from shardsafe.core.quarantine.envelope import parse_log_fallback
from shardsafe.core.telemetry import logs
from tests import factories
from tests.e2e.test_quarantine_sqs import drain, poison_payloads


@pytest.fixture
def topic_and_store(resources: Resources) -> tuple[str, str]:
    """A topic, and a queue subscribed to it with raw message delivery: where the envelopes are kept."""
    topic_arn = resources.topic(resources.name("quarantine"))
    queue_url = resources.queue(resources.name("quarantine-store"))
    sqs, sns = resources.client("sqs"), resources.client("sns")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    return topic_arn, queue_url


def test_every_poison_envelope_reaches_the_topics_queue_once_byte_identical(
    resources: Resources, topic_and_store: tuple[str, str]
) -> None:
    topic_arn, queue_url = topic_and_store
    sink = SnsQuarantine(topic_arn, client=resources.client("sns"), max_message_bytes=262_144)
    poison = poison_payloads()  # 27 records: three PublishBatch calls
    event = factories.kinesis_event([*poison, factories.tick("AMZN")])
    processor = StreamProcessor(
        quarantine=sink, validate={"EVENT_TIME": str, "TICKER": str, "PRICE": float}, metrics=False
    )
    result = processor.process(event, factories.FakeContext())
    assert result.undelivered == 0 and len(result.quarantined) == len(poison)

    messages = drain(resources.client("sqs"), queue_url)
    envelopes = [parse_envelope(message["Body"]) for message in messages]
    assert all(envelope is not None for envelope in envelopes), "a message that is not an envelope"
    by_sequence = {envelope.record["sequenceNumber"]: envelope for envelope in envelopes if envelope}
    assert len(by_sequence) == len(messages) == len(poison), "each envelope exactly once"
    for position, payload in enumerate(poison):
        envelope = by_sequence[event["Records"][position]["kinesis"]["sequenceNumber"]]
        assert envelope.payload_bytes() == payload
    kinds = {message["MessageAttributes"]["shardsafe-kind"]["StringValue"] for message in messages}
    assert kinds == {"quarantine"}
    assert {
        message["MessageAttributes"]["shardsafe-reason"]["StringValue"] for message in messages
    } <= reasons.ALL


def test_a_record_too_big_for_the_topic_is_kept_whole_in_the_log(
    resources: Resources, topic_and_store: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a claim-check store, a payload the topic cannot carry is sent without it and kept in the log."""
    topic_arn, queue_url = topic_and_store
    sink = SnsQuarantine(
        topic_arn, client=resources.client("sns"), max_message_bytes=4_096, claim_checks=None
    )
    big = b"\xff" + bytes(range(256)) * 40  # 10 KB: over the 4 KB limit
    StreamProcessor(quarantine=sink, metrics=False).process(
        factories.kinesis_event([big]), factories.FakeContext()
    )

    [message] = drain(resources.client("sqs"), queue_url)
    envelope = parse_envelope(message["Body"])
    assert envelope is not None and envelope.truncated and envelope.payload_sha256
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    fallbacks = [line for line in lines if line.get("event") == logs.QUARANTINE_FALLBACK]
    [document] = logs.reassemble(fallbacks, "payload_base64")
    kept: Any = parse_log_fallback(document)
    assert kept is not None and kept.payload_bytes() == big
