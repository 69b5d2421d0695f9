"""The SNS quarantine sink: envelopes published with ``PublishBatch`` to a topic, within the deadline.

For a team whose alerts already come from SNS (email, chat, an incident tool) as well as a queue: the
topic fans each envelope out to its subscribers. SNS keeps nothing itself, so the topic needs a durable
subscriber, an SQS queue with raw message delivery, for the envelope to be kept (the Terraform module's
``quarantine.kind = "sns"`` makes one); ``shardsafe redrive --queue`` reads that queue as it reads the
SQS sink's. An envelope SNS refuses, or one not sent in time, is kept in S3 or the log as with any sink.

The message is the envelope's body, with the same two attributes as an SQS envelope; the topic's
``MaximumMessageSize`` (256 KiB by default, up to 1 MiB) bounds each message and each batch call
(AWS, PublishBatch API reference).
"""

from __future__ import annotations

import os

from shardsafe.core.quarantine.batching import (
    BatchCallSink,
    message_bytes_from_environment,
    string_attributes,
)
from shardsafe.core.quarantine.claimcheck import S3ClaimCheck

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.quarantine.envelope import Envelope
    from shardsafe.core.quarantine.sink import ClaimCheckStore

__all__ = ["SNS_DEFAULT_MESSAGE_BYTES", "SNS_MAX_MESSAGE_BYTES", "TOPIC_ARN_ENV", "SnsQuarantine"]

TOPIC_ARN_ENV = "SHARDSAFE_QUARANTINE_TOPIC_ARN"
#: The topic's MaximumMessageSize; the Terraform module sets it (the SQS sink reads the same variable).
MAX_MESSAGE_BYTES_ENV = "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"
SNS_DEFAULT_MESSAGE_BYTES = 262_144
SNS_MAX_MESSAGE_BYTES = 1_048_576
SNS_MIN_MESSAGE_BYTES = 1_024


class SnsQuarantine(BatchCallSink):
    """Publishes envelopes to an SNS topic, 10 per ``PublishBatch`` call within the topic's message size.

    The topic ARN defaults to ``SHARDSAFE_QUARANTINE_TOPIC_ARN``, read at send time;
    ``max_message_bytes`` to ``SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES``, else 256 KiB; ``claim_checks``
    as for :class:`~shardsafe.core.quarantine.sqs.SqsQuarantine`.
    """

    service = "sns"
    call_name = "PublishBatch"

    def __init__(
        self,
        topic_arn: str | None = None,
        *,
        client: Any = None,
        max_attempts: int = 4,
        base_delay: float = 0.05,
        max_message_bytes: int | None = None,
        claim_checks: ClaimCheckStore | None = None,
    ) -> None:
        super().__init__(client=client, max_attempts=max_attempts, base_delay=base_delay)
        self.topic_arn = topic_arn
        self.max_message_bytes = (
            message_bytes_from_environment(
                MAX_MESSAGE_BYTES_ENV,
                SNS_MIN_MESSAGE_BYTES,
                SNS_MAX_MESSAGE_BYTES,
                SNS_DEFAULT_MESSAGE_BYTES,
                "the quarantine topic's MaximumMessageSize",
            )
            if max_message_bytes is None
            else max_message_bytes
        )
        # A batch call carries at most the topic's MaximumMessageSize, every entry together.
        self.batch_bytes = self.max_message_bytes
        self.claim_checks = S3ClaimCheck.from_environment() if claim_checks is None else claim_checks

    def target(self) -> tuple[str | None, str]:
        topic_arn = self.topic_arn or os.environ.get(TOPIC_ARN_ENV)
        return topic_arn or None, f"no quarantine topic: {TOPIC_ARN_ENV} is not set"

    def entry(self, entry_id: str, envelope: Envelope) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "Message": envelope.to_body(),
            "MessageAttributes": string_attributes(envelope),
        }

    def call(self, client: Any, target: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        response: dict[str, Any] = client.publish_batch(TopicArn=target, PublishBatchRequestEntries=entries)
        return response
