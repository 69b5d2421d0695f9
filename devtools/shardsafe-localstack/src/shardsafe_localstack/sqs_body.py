"""An SQS message's body reaches the function as it was sent, byte for byte, as on AWS.

LocalStack 2026.3.0's SQS poller (``SqsPoller.handle_messages``) parses each message body as JSON to
match it against the mapping's filters, then writes it back with ``json.dumps``: a body sent as
``{"id":"a"}`` reaches the function as ``{"id": "a"}``, and key order, spacing, escapes and number
spelling follow Python's JSON, not the sender's. AWS passes the body through: the event's ``body``
is the message body (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, the example
event), and filtering does not change it
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filtering-sqs). A
handler that quarantines or stores a body would otherwise keep other bytes than were sent.

This module puts each event's original body back after LocalStack's filtering, keyed by message
id; filtering itself is LocalStack's own code. The switch: ``SHARDSAFE_LOCALSTACK_SQS_BODY`` in
LocalStack's environment (``1``/``0``, default ``1``); off, bodies are re-serialized as stock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shardsafe_localstack.switches import switch

SQS_BODY_ENV = "SHARDSAFE_LOCALSTACK_SQS_BODY"

# handle_messages runs one batch on one thread (sqs_scaling runs batches on threads of their own).
_sent = threading.local()


def handle_messages(original: Callable[..., Any], poller: Any, messages: list[dict[str, Any]]) -> Any:
    """The patched SqsPoller.handle_messages: remembers the batch's bodies as received."""
    _sent.bodies = {message["MessageId"]: message.get("Body") for message in messages}
    try:
        return original(poller, messages)
    finally:
        _sent.bodies = {}


def add_source_metadata(
    poller: Any, events: list[dict[str, Any]], extra_metadata: Any = None
) -> list[dict[str, Any]]:
    """SqsPoller.add_source_metadata (called after filtering): the events' bodies as sent, then LocalStack's metadata."""
    from localstack.services.lambda_.event_source_mapping.pollers.poller import Poller

    bodies: dict[str, Any] = getattr(_sent, "bodies", {})
    for event in events:
        body = bodies.get(event.get("messageId", ""))
        if isinstance(body, str):
            event["body"] = body
    result: list[dict[str, Any]] = Poller.add_source_metadata(poller, events, extra_metadata)
    return result


_applied: list[Any] = []  # the patches in place


def apply() -> None:
    """Patch LocalStack in memory (never on disk), unless SHARDSAFE_LOCALSTACK_SQS_BODY is 0; idempotent."""
    if _applied or not switch(SQS_BODY_ENV):
        return
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
    from localstack.utils.patch import Patch

    for patch in (
        Patch.function(SqsPoller.handle_messages, handle_messages),
        Patch(SqsPoller, "add_source_metadata", add_source_metadata),
    ):
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
