"""What the SQS and SNS sinks share: envelopes sent in batch calls, retried with backoff, within the deadline.

Both APIs take up to 10 entries a call and answer each entry in ``Successful`` or ``Failed`` (``Id``,
``Code``, ``Message``, ``SenderFault``): ``SendMessageBatch`` and ``PublishBatch``. A sink of this
kind is the call, the target and the entry's shape (:class:`BatchCallSink`'s three hooks).
"""

from __future__ import annotations

import os
import random
import time

from shardsafe.core.quarantine.clients import ClientMaker
from shardsafe.core.quarantine.sink import QuarantineSink, Undelivered

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from shardsafe.core.quarantine.envelope import Envelope

BATCH_ENTRIES = 10  # SendMessageBatch and PublishBatch take at most 10 entries
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
#: The longest one batch call can take: a try starts only if this much time is left.
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT


class BatchCallSink(QuarantineSink):
    """Sends envelopes in batch calls of up to :data:`BATCH_ENTRIES` entries and :attr:`batch_bytes` bytes.

    Failed entries (server-side faults, throttling, a call that raised) are retried with exponential
    backoff and jitter, ``max_attempts`` times in all; entries the service rejects as the sender's fault
    are not retried. The boto3 client is created on first use, so importing costs nothing; creating it
    counts against the deadline: it is made on a thread of its own and waited for only until a call must
    start (:class:`~shardsafe.core.quarantine.clients.ClientMaker`).
    """

    call_seconds = CALL_SECONDS
    #: The service's name, for boto3 and for messages.
    service: str = ""
    #: The call's name, for messages.
    call_name: str = ""
    #: The most bytes one call may carry, every entry's body and attributes together.
    batch_bytes: int = 262_144

    def __init__(self, *, client: Any = None, max_attempts: int = 4, base_delay: float = 0.05) -> None:
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self._client = client
        self._maker: ClientMaker | None = None

    # --- the hooks a sink of this kind fills ---

    def target(self) -> tuple[str | None, str]:
        """Where to send (a queue URL, a topic ARN), or None and why there is nowhere."""
        raise NotImplementedError

    def entry(self, entry_id: str, envelope: Envelope) -> dict[str, Any]:
        """One entry of the batch call."""
        raise NotImplementedError

    def call(self, client: Any, target: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """The batch call; its answer has ``Successful`` and ``Failed`` lists of entries by ``Id``."""
        raise NotImplementedError

    # --- sending ---

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[Undelivered]:
        """Send every envelope; give up on what is left when ``deadline`` (``time.monotonic()``) comes."""
        if not envelopes:
            return []
        everything = range(len(envelopes))
        target, why = self.target()
        if target is None:
            return [(position, why) for position in everything]
        if self._client is None:  # one client per execution environment, reused across invocations
            if self._maker is None:
                self._maker = ClientMaker(
                    lambda: self._make_client(target), f"the {self.service.upper()} client"
                )
            client, why = self._maker.get(None if deadline is None else deadline - CALL_SECONDS)
            if client is None:
                return [(position, why) for position in everything]
            self._client = client
        client = self._client
        undelivered: list[Undelivered] = []
        unreachable: str | None = None
        for group in self._groups(envelopes):
            if unreachable:  # do not spend the invocation's time on a target that just failed every attempt
                undelivered.extend((position, unreachable) for position in group)
                continue
            failed = self._send_group(client, target, envelopes, group, deadline)
            undelivered.extend(failed)
            if len(failed) == len(group) and failed[0][1].startswith(f"{self.call_name} failed"):
                unreachable = failed[0][1]
        return undelivered

    def _send_group(
        self,
        client: Any,
        target: str,
        envelopes: Sequence[Envelope],
        group: list[int],
        deadline: float | None,
    ) -> list[Undelivered]:
        pending = {str(position): envelopes[position] for position in group}
        errors: dict[str, str] = dict.fromkeys(pending, "the invocation had no time left to send it")
        undelivered: list[Undelivered] = []
        for attempt in range(self.max_attempts):
            delay = self.base_delay * 2 ** (attempt - 1) * (0.5 + random.random()) if attempt else 0.0  # noqa: S311
            if deadline is not None and time.monotonic() + delay + CALL_SECONDS > deadline:
                break  # a call may not finish in time: the flush keeps what is left
            if delay:
                time.sleep(delay)
            entries = [self.entry(entry_id, envelope) for entry_id, envelope in pending.items()]
            try:
                response = self.call(client, target, entries)
            except Exception as error:
                errors = dict.fromkeys(pending, f"{self.call_name} failed: {error!r}")
                continue
            succeeded = {str(entry.get("Id")) for entry in response.get("Successful") or ()}
            failed = {str(entry.get("Id")): entry for entry in response.get("Failed") or ()}
            retry: dict[str, Envelope] = {}
            for entry_id, envelope in pending.items():
                if entry_id in succeeded:
                    continue
                failure = failed.get(entry_id)
                if failure is None:  # neither successful nor failed: retry rather than assume
                    errors[entry_id] = f"{self.call_name} did not report this entry"
                    retry[entry_id] = envelope
                    continue
                errors[entry_id] = (
                    f"{self.service.upper()} refused the message: {failure.get('Code')}: {failure.get('Message')}"
                )
                if failure.get("SenderFault"):
                    undelivered.append(
                        (int(entry_id), errors[entry_id])
                    )  # our fault: the same call fails again
                else:
                    retry[entry_id] = envelope
            pending = retry
            if not pending:
                break
        undelivered.extend((int(entry_id), errors.get(entry_id, "not sent")) for entry_id in pending)
        return undelivered

    def _groups(self, envelopes: Sequence[Envelope]) -> list[list[int]]:
        """Positions in consecutive groups within the call's limits: :data:`BATCH_ENTRIES` entries and
        :attr:`batch_bytes` bytes in all."""
        groups: list[list[int]] = []
        current: list[int] = []
        current_bytes = 0
        limit = self.batch_bytes
        for position, envelope in enumerate(envelopes):
            size = self.message_size(envelope)
            if current and (len(current) == BATCH_ENTRIES or current_bytes + size > limit):
                groups.append(current)
                current, current_bytes = [], 0
            current.append(position)
            current_bytes += size
        if current:
            groups.append(current)
        return groups

    def _make_client(self, target: str) -> Any:
        import boto3  # type: ignore[import-untyped]  # lazy: a batch without poison never pays for boto3
        from botocore.config import Config  # type: ignore[import-untyped]

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or region_of(target)
        # One try per call (send retries with backoff itself), bounded so it ends within CALL_SECONDS.
        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        return boto3.client(self.service, region_name=region, config=config)


def string_attributes(envelope: Envelope) -> dict[str, dict[str, str]]:
    """The envelope's attributes in the shape ``SendMessage`` and ``Publish`` take."""
    return {
        name: {"DataType": "String", "StringValue": value} for name, value in envelope.attributes().items()
    }


def region_of(target: str) -> str:
    """The region in a queue URL (``https://sqs.eu-west-1.amazonaws.com/...``) or an ARN; us-east-1 else."""
    if target.startswith("arn:"):
        parts = target.split(":")
        return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
    host = target.split("/")[2] if target.count("/") >= 2 else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] in ("sqs", "sns") else "us-east-1"


def message_bytes_from_environment(name: str, low: int, high: int, default: int, what: str) -> int:
    """A sink's message limit from the environment variable ``name``: a whole number from ``low`` to
    ``high``, ``default`` when unset; a wrong value is refused, naming it and what to set it to."""
    from shardsafe.core.errors import ConfigurationError

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not low <= value <= high:
        raise ConfigurationError(
            f"{name}={text!r}: set it to {what}, a whole number of bytes from {low} to {high}"
        )
    return value
