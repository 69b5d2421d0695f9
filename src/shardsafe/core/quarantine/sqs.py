"""The SQS quarantine sink: envelopes sent with ``SendMessageBatch``, retried with backoff, within the deadline.

The flush (:mod:`shardsafe.core.quarantine.flush`) builds one envelope per poison record and hands them
to the sink at the end of the batch; whatever the sink could not deliver is kept in S3 or the log in
full, so a record is never silently dropped (the contract: :mod:`shardsafe.core.quarantine.sink`).
"""

from __future__ import annotations

import os

from shardsafe.core.quarantine.batching import (
    BATCH_ENTRIES,
    CALL_SECONDS,
    BatchCallSink,
    message_bytes_from_environment,
    string_attributes,
)
from shardsafe.core.quarantine.claimcheck import S3ClaimCheck
from shardsafe.core.quarantine.envelope import SQS_MESSAGE_LIMIT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.quarantine.envelope import Envelope
    from shardsafe.core.quarantine.sink import ClaimCheckStore

__all__ = ["BATCH_ENTRIES", "CALL_SECONDS", "MAX_MESSAGE_BYTES_ENV", "QUEUE_URL_ENV", "SqsQuarantine"]

QUEUE_URL_ENV = "SHARDSAFE_QUARANTINE_QUEUE_URL"
#: The queue's MaximumMessageSize; the Terraform module sets it.
MAX_MESSAGE_BYTES_ENV = "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"
MIN_MESSAGE_BYTES = 1_024  # SQS's own bounds for MaximumMessageSize


class SqsQuarantine(BatchCallSink):
    """Sends envelopes to an SQS queue, 10 per ``SendMessageBatch`` call of at most 1 MiB together
    (AWS, SendMessageBatch API reference).

    The queue URL defaults to ``SHARDSAFE_QUARANTINE_QUEUE_URL``, read at send time.
    ``max_message_bytes`` is the queue's limit (default ``SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES``,
    else 1 MiB); ``claim_checks`` is where a record too big for it is kept (default the S3 store
    ``SHARDSAFE_CLAIM_CHECK_BUCKET`` names, none when it is unset; see
    :mod:`shardsafe.core.quarantine.claimcheck`).
    """

    service = "sqs"
    call_name = "SendMessageBatch"
    batch_bytes = SQS_MESSAGE_LIMIT

    def __init__(
        self,
        queue_url: str | None = None,
        *,
        client: Any = None,
        max_attempts: int = 4,
        base_delay: float = 0.05,
        max_message_bytes: int | None = None,
        claim_checks: ClaimCheckStore | None = None,
    ) -> None:
        super().__init__(client=client, max_attempts=max_attempts, base_delay=base_delay)
        self.queue_url = queue_url
        self.max_message_bytes = (
            max_message_bytes_from_environment() if max_message_bytes is None else max_message_bytes
        )
        self.claim_checks = S3ClaimCheck.from_environment() if claim_checks is None else claim_checks

    def target(self) -> tuple[str | None, str]:
        queue_url = self.queue_url or os.environ.get(QUEUE_URL_ENV)
        return queue_url or None, f"no quarantine queue: {QUEUE_URL_ENV} is not set"

    def entry(self, entry_id: str, envelope: Envelope) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "MessageBody": envelope.to_body(),
            "MessageAttributes": string_attributes(envelope),
        }

    def call(self, client: Any, target: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = client.send_message_batch(QueueUrl=target, Entries=entries)
        return response


def max_message_bytes_from_environment() -> int:
    """``SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES``, or 1 MiB when unset; a wrong value is refused."""
    return message_bytes_from_environment(
        MAX_MESSAGE_BYTES_ENV,
        MIN_MESSAGE_BYTES,
        SQS_MESSAGE_LIMIT,
        SQS_MESSAGE_LIMIT,
        "the quarantine queue's MaximumMessageSize",
    )
