"""Quarantine sinks: SQS (SendMessageBatch, retried with backoff) and in-memory.

The processor builds one envelope per poison record (see :mod:`shardsafe.core.quarantine.envelope`) and hands
them to a sink at the end of the batch; whatever the sink could not deliver is written to the
log in full by the processor, so a record is never silently dropped.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence

from shardsafe.core.errors import ConfigurationError
from shardsafe.core.quarantine.claimcheck import MemoryClaimCheck, S3ClaimCheck
from shardsafe.core.quarantine.envelope import SQS_MESSAGE_LIMIT, Envelope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

QUEUE_URL_ENV = "SHARDSAFE_QUARANTINE_QUEUE_URL"
#: The queue's MaximumMessageSize; the Terraform module sets it (quarantine_queue_max_message_size).
MAX_MESSAGE_BYTES_ENV = "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"
MIN_MESSAGE_BYTES = 1_024  # SQS's own bounds for MaximumMessageSize
BATCH_ENTRIES = 10  # SendMessageBatch takes at most 10 entries ...
BATCH_BYTES = SQS_MESSAGE_LIMIT  # ... of at most 1 MiB together (AWS, SendMessageBatch API reference)
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
#: The longest one SendMessageBatch call can take: a try starts only if this much time is left.
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT


class SqsQuarantine:
    """Sends envelopes to an SQS queue, 10 per ``SendMessageBatch`` call.

    Failed entries (server-side faults, throttling, a call that raised) are retried with
    exponential backoff and jitter, ``max_attempts`` times in all; entries SQS rejects as the
    sender's fault are not retried. The queue URL defaults to ``SHARDSAFE_QUARANTINE_QUEUE_URL``,
    read at send time; the boto3 client is created on first use, so importing costs nothing.

    ``max_message_bytes`` is the queue's limit (default ``SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES``,
    else 1 MiB); ``claim_checks`` is where a record too big for it is kept (default the S3 store
    ``SHARDSAFE_CLAIM_CHECK_BUCKET`` names, none when it is unset; see :mod:`shardsafe.core.quarantine.claimcheck`).
    """

    def __init__(
        self,
        queue_url: str | None = None,
        *,
        client: Any = None,
        max_attempts: int = 4,
        base_delay: float = 0.05,
        max_message_bytes: int | None = None,
        claim_checks: S3ClaimCheck | MemoryClaimCheck | None = None,
    ) -> None:
        self.queue_url = queue_url
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_message_bytes = (
            max_message_bytes_from_environment() if max_message_bytes is None else max_message_bytes
        )
        self.claim_checks = S3ClaimCheck.from_environment() if claim_checks is None else claim_checks
        self._client = client

    def send(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[tuple[Envelope, str]]:
        """Send every envelope; give up on what is left when ``deadline`` (``time.monotonic()``) comes."""
        if not envelopes:
            return []
        queue_url = self.queue_url or os.environ.get(QUEUE_URL_ENV)
        if not queue_url:
            return [(envelope, f"no quarantine queue: {QUEUE_URL_ENV} is not set") for envelope in envelopes]
        try:
            if self._client is None:  # one client per execution environment, reused across invocations
                self._client = self._make_client(queue_url)
            client = self._client
        except Exception as error:
            return [(envelope, f"cannot create the SQS client: {error!r}") for envelope in envelopes]
        undelivered: list[tuple[Envelope, str]] = []
        unreachable: str | None = None
        for group in _groups(envelopes):
            if unreachable:  # do not spend the invocation's time on a queue that just failed every attempt
                undelivered.extend((envelope, unreachable) for envelope in group)
                continue
            failed = self._send_group(client, queue_url, group, deadline)
            undelivered.extend(failed)
            if len(failed) == len(group) and failed[0][1].startswith("SendMessageBatch failed"):
                unreachable = failed[0][1]
        return undelivered

    def _send_group(
        self, client: Any, queue_url: str, group: list[Envelope], deadline: float | None
    ) -> list[tuple[Envelope, str]]:
        pending = {str(index): envelope for index, envelope in enumerate(group)}
        errors: dict[str, str] = dict.fromkeys(pending, "the invocation had no time left to send it")
        undelivered: list[tuple[Envelope, str]] = []
        for attempt in range(self.max_attempts):
            delay = self.base_delay * 2 ** (attempt - 1) * (0.5 + random.random()) if attempt else 0.0  # noqa: S311
            if deadline is not None and time.monotonic() + delay + CALL_SECONDS > deadline:
                break  # a call may not finish in time: the processor logs what is left
            if delay:
                time.sleep(delay)
            entries = [
                {
                    "Id": entry_id,
                    "MessageBody": envelope.to_body(),
                    "MessageAttributes": envelope.message_attributes(),
                }
                for entry_id, envelope in pending.items()
            ]
            try:
                response = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as error:
                errors = dict.fromkeys(pending, f"SendMessageBatch failed: {error!r}")
                continue
            succeeded = {str(entry.get("Id")) for entry in response.get("Successful") or ()}
            failed = {str(entry.get("Id")): entry for entry in response.get("Failed") or ()}
            retry: dict[str, Envelope] = {}
            for entry_id, envelope in pending.items():
                if entry_id in succeeded:
                    continue
                failure = failed.get(entry_id)
                if failure is None:  # neither successful nor failed: retry rather than assume
                    errors[entry_id] = "SendMessageBatch did not report this entry"
                    retry[entry_id] = envelope
                    continue
                errors[entry_id] = f"SQS refused the message: {failure.get('Code')}: {failure.get('Message')}"
                if failure.get("SenderFault"):
                    undelivered.append((envelope, errors[entry_id]))  # our fault: the same call fails again
                else:
                    retry[entry_id] = envelope
            pending = retry
            if not pending:
                break
        undelivered.extend(
            (envelope, errors.get(entry_id, "not sent")) for entry_id, envelope in pending.items()
        )
        return undelivered

    @staticmethod
    def _make_client(queue_url: str) -> Any:
        import boto3  # type: ignore[import-untyped]  # lazy: a batch without poison never pays for boto3
        from botocore.config import Config  # type: ignore[import-untyped]

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or _region_of(queue_url)
        # One try per call (send retries with backoff itself), bounded so it ends within CALL_SECONDS.
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        return boto3.client("sqs", region_name=region, config=config)


def max_message_bytes_from_environment() -> int:
    """``SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES``, or 1 MiB when unset; a wrong value is refused."""
    text = os.environ.get(MAX_MESSAGE_BYTES_ENV, "").strip()
    if not text:
        return SQS_MESSAGE_LIMIT
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not MIN_MESSAGE_BYTES <= value <= SQS_MESSAGE_LIMIT:
        raise ConfigurationError(
            f"{MAX_MESSAGE_BYTES_ENV}={text!r}: set it to the quarantine queue's MaximumMessageSize, "
            f"a whole number of bytes from {MIN_MESSAGE_BYTES} to {SQS_MESSAGE_LIMIT}"
        )
    return value


def _region_of(queue_url: str) -> str:
    # https://sqs.eu-west-1.amazonaws.com/123456789012/name
    host = queue_url.split("/")[2] if queue_url.count("/") >= 2 else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else "us-east-1"


def _groups(envelopes: Sequence[Envelope]) -> list[list[Envelope]]:
    """Consecutive groups within the SendMessageBatch limits: 10 entries and 1 MiB in all."""
    groups: list[list[Envelope]] = []
    current: list[Envelope] = []
    current_bytes = 0
    for envelope in envelopes:
        size = envelope.message_size()
        if current and (len(current) == BATCH_ENTRIES or current_bytes + size > BATCH_BYTES):
            groups.append(current)
            current, current_bytes = [], 0
        current.append(envelope)
        current_bytes += size
    if current:
        groups.append(current)
    return groups


class MemoryQuarantine:
    """Keeps envelopes in ``envelopes``: an injectable sink for tests and benchmarks."""

    def __init__(
        self, max_message_bytes: int = SQS_MESSAGE_LIMIT, claim_checks: MemoryClaimCheck | None = None
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.claim_checks = claim_checks
        self.envelopes: list[Envelope] = []

    def send(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[tuple[Envelope, str]]:
        self.envelopes.extend(envelopes)
        return []
