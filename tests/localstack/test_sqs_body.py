"""SQS bodies as sent (sqs_body.py), on LocalStack's own filtering step with a stand-in poller: no LocalStack running."""

from __future__ import annotations

import json
from typing import Any

from shardsafe_localstack import sqs_body

COMPACT = '{"id":"a","n":1.0}'


class FakePoller:
    source_arn = "arn:aws:sqs:us-east-1:000000000000:work-items"
    aws_region = "us-east-1"

    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def event_source(self) -> str:
        return "aws:sqs"

    def extra_metadata(self) -> dict[str, str]:
        return {}

    def stock_handle_messages(self, messages: list[dict[str, Any]]) -> None:
        """What LocalStack's handle_messages does to a body: json.loads for the filters, json.dumps back."""
        events = [{"messageId": m["MessageId"], "body": json.dumps(json.loads(m["Body"]))} for m in messages]
        self.invoked += sqs_body.add_source_metadata(self, events)


def test_a_re_serialized_body_is_put_back_as_sent() -> None:
    poller = FakePoller()
    sqs_body.handle_messages(FakePoller.stock_handle_messages, poller, [{"MessageId": "m1", "Body": COMPACT}])
    assert [event["body"] for event in poller.invoked] == [COMPACT]
    assert poller.invoked[0]["eventSource"] == "aws:sqs"


def test_without_the_patch_the_body_changes() -> None:
    assert json.dumps(json.loads(COMPACT)) != COMPACT
