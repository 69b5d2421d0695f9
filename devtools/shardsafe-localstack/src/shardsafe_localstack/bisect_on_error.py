"""Bisect on function error for Kinesis and DynamoDB stream event source mappings, as AWS documents it.

LocalStack 2026.3.0 accepts ``BisectBatchOnFunctionError`` but retries a failed batch whole
(``StreamPoller.forward_events_to_target``), so one record that crashes the function takes its whole
batch to the on-failure destination. For a mapping with ``BisectBatchOnFunctionError=true`` this
module replaces that retry loop with AWS's: a failed batch is split in two and the halves are tried
in order, down to one record, and only what is finally given up on is reported, with the
coordinates (and for an S3 destination the records) of that part alone. Everything else (polling,
filtering, the failure context, the destination message) is LocalStack's own code.

What AWS documents, and this module follows:

- Lambda developer guide, "Retain discarded batch records for a Kinesis Data Streams event source"
  (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html; the DynamoDB
  page ``services-dynamodb-errors.html`` says the same): a function error is retried until the
  records expire, exceed ``MaximumRecordAgeInSeconds`` or reach ``MaximumRetryAttempts``; with
  ``BisectBatchOnFunctionError`` a failed batch is split into two smaller batches, and "splitting a
  batch does not count towards the retry quota"; an error before the function runs is retried until
  the records expire or exceed the maximum age.
- "Configuring partial batch response with Kinesis Data Streams and Lambda"
  (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html; DynamoDB:
  ``services-ddb-batchfailurereporting.html``): "If your invocation fails and
  BisectBatchOnFunctionError is turned on, the batch is bisected regardless of your
  ReportBatchItemFailures setting"; on a partial batch response "the batch is bisected at the
  returned sequence number and Lambda retries only the remaining records"; the lowest reported
  sequence number is the checkpoint; an empty or null ``itemIdentifier`` or a bad key name makes the
  response a complete failure.
- CreateEventSourceMapping (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html):
  ``BisectBatchOnFunctionError``, ``MaximumRetryAttempts`` (-1: until the records expire),
  ``MaximumRecordAgeInSeconds`` (-1: no limit).

Where AWS is silent, the choices made here (each also said at the line that makes it):

- A failed batch of two or more records is split at once, without first retrying it whole
  ("split the batch in two and retry"); the halves are tried depth first, left before right, so the
  records of a shard are first delivered in stream order. A failed single record is retried.
- The halves carry the retries their records have already used (by partial batch responses);
  splitting neither uses nor refunds any.
- ``approximateInvokeCount`` in the failure record counts the invocations of the reported part
  itself (its first try and its retries), as stock LocalStack counts them for a whole batch.
- A retry waits LocalStack's backoff; a split half is tried at once (it is not a retry).
- A complete-failure partial response (an identifier not in the batch, an empty one) is treated
  as a failed invocation, so it is bisected too.
- An error that is not a function error (LocalStack could not invoke) is retried without a split
  and counts as a retry, as stock LocalStack counts it (AWS would not count it).
- Records past ``MaximumRecordAgeInSeconds`` are reported before each try of a part, at once, as
  their own failure record with the condition ``RecordAgeExceeded`` and the error of the last failed
  invocation they were in (none, as stock LocalStack, if they were never invoked).

The switch: ``SHARDSAFE_LOCALSTACK_BISECT`` in LocalStack's environment (``1``/``0``, default ``1``)
turns the emulation on or off for every mapping; a tag ``shardsafe-localstack:bisect`` (``on`` or
``off``) on an event source mapping overrides it for that mapping, read before every batch, so a test
can show both behaviours on one LocalStack. Off, or with ``BisectBatchOnFunctionError=false``, the
batch goes through LocalStack's own loop unchanged.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shardsafe_localstack.switches import SwitchError, parse_switch, switch

LOG = logging.getLogger(__name__)

BISECT_ENV = "SHARDSAFE_LOCALSTACK_BISECT"
BISECT_TAG = "shardsafe-localstack:bisect"
# The mapping setting, copied into the poller's stream parameters (LocalStack's factory leaves it out).
BISECT_PARAMETER = "BisectBatchOnFunctionError"


def bisect_switch_from_environment() -> bool:
    """The global switch; SwitchError if SHARDSAFE_LOCALSTACK_BISECT is set to something else."""
    return switch(BISECT_ENV)


@dataclass
class Part:
    """Records of one shard that are tried together: a polled batch, a half of one, or a rest."""

    events: list[dict[str, Any]]
    retries: int = 0  # retries these records have used (splitting uses none)
    invocations: int = 0  # invocations of exactly these records: approximateInvokeCount
    error: dict[str, Any] | None = field(default=None, repr=False)  # the last failed invocation's

    def half(self, events: list[dict[str, Any]]) -> Part:
        # The error goes along, so that a half given up on before it is tried still says why.
        return Part(events, retries=self.retries, error=self.error)


def mapping_tags(poller: Any) -> dict[str, str]:
    """The tags of the poller's event source mapping, from LocalStack's Lambda store; {} if none."""
    arn = getattr(poller, "event_source_mapping_arn", None)
    if not arn:
        return {}
    from localstack.services.lambda_.invocation.models import lambda_stores
    from localstack.utils.aws.arns import parse_arn

    parts = parse_arn(arn)
    return dict(lambda_stores[parts["account"]][parts["region"]].tags.get_tags(arn) or {})


def bisect_enabled(poller: Any, tags: Callable[[Any], dict[str, str]] | None = None) -> bool:
    """Whether this poller's next batch is bisected on error: the mapping's setting, then the switches."""
    if not poller.stream_parameters.get(BISECT_PARAMETER):
        return False
    tag = (tags or mapping_tags)(poller).get(BISECT_TAG)
    if tag is not None:
        try:
            return parse_switch(tag, f"tag {BISECT_TAG}")
        except SwitchError as error:
            # A bad tag must not stop the mapping: say so and fall back to the global switch.
            LOG.warning("%s on %s; using %s", error, poller.event_source_mapping_arn, BISECT_ENV)
    return bisect_switch_from_environment()


def prepare_events(poller: Any, shard_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as the function will see them, filtered: the first half of forward_events_to_target."""
    events = poller.transform_into_events(records, shard_id)
    events = poller.post_filter(poller.filter_events(poller.pre_filter(events)))
    return list(poller.add_source_metadata(events)) if events else []


def deliver(poller: Any, shard_id: str, events: list[dict[str, Any]]) -> None:
    """Invoke the function with ``events``, bisecting on error; report what is given up on, part by part."""
    from localstack.services.lambda_.event_source_mapping.event_processor import (
        BatchFailureError,
        PartialBatchFailureError,
    )
    from localstack.services.lambda_.event_source_mapping.pollers.poller import get_batch_item_failures
    from localstack.utils.backoff import ExponentialBackoff

    parameters = poller.stream_parameters
    max_retries = parameters.get("MaximumRetryAttempts", -1)
    max_age = max(parameters.get("MaximumRecordAgeInSeconds", -1), 0)  # -1 turns the check off
    backoff = ExponentialBackoff(max_retries=max_retries)  # type: ignore[call-arg]  # pydantic defaults
    pending: deque[Part] = deque([Part(events)])

    def retry_or_give_up(part: Part, events: list[dict[str, Any]]) -> None:
        if max_retries != -1 and part.retries >= max_retries:
            report(poller, shard_id, events, "RetryAttemptsExhausted", part)
            return
        pending.appendleft(
            Part(events, retries=part.retries + 1, invocations=part.invocations, error=part.error)
        )

    def split_or_retry(part: Part) -> None:
        if len(part.events) < 2:
            retry_or_give_up(part, part.events)
            return
        middle = len(part.events) // 2  # an odd batch gives its extra record to the second half
        pending.extendleft([part.half(part.events[middle:]), part.half(part.events[:middle])])

    while pending and not poller._is_shutdown.is_set():
        part = pending.popleft()
        if max_age:
            part.events, expired = poller.bisect_events_by_record_age(max_age, part.events)
            if expired:
                report(poller, shard_id, expired, "RecordAgeExceeded", part)
            if not part.events:
                continue
        if part.invocations:  # a retry waits; a fresh half does not
            poller._is_shutdown.wait(backoff.next_backoff())
        part.invocations += 1
        try:
            poller.processor.process_events_batch(part.events)
        except PartialBatchFailureError as failure:
            part.error = failure.error
            identifiers = {poller.get_sequence_number(event) for event in part.events}
            response: Any = failure.partial_failure_payload
            failed = get_batch_item_failures(response, identifiers)
            if failed is None:  # a complete failure: bisected like a failed invocation
                split_or_retry(part)
                continue
            if not failed:  # nothing named after all: a complete success
                backoff.reset()
                continue
            _, remaining = poller.bisect_events(min(failed, key=int), part.events)
            retry_or_give_up(part, remaining)
        except BatchFailureError as failure:
            part.error = failure.error
            split_or_retry(part)
        except Exception:
            # Logged as stock LocalStack logs it: the traceback only at debug level.
            LOG.error(
                "Invoking the function for %s failed before it ran; retrying",
                poller.source_arn,
                exc_info=LOG.isEnabledFor(logging.DEBUG),
            )
            retry_or_give_up(part, part.events)
        else:
            backoff.reset()


def report(poller: Any, shard_id: str, events: list[dict[str, Any]], condition: str, part: Part) -> None:
    """Send ``events`` (and nothing else) to the mapping's on-failure destination, LocalStack's way."""
    context = poller.processor.generate_event_failure_context(
        abort_condition=condition,
        error=part.error or {},
        attempts_count=part.invocations,
        partner_resource_arn=poller.partner_resource_arn,
    )
    poller.send_events_to_dlq(shard_id, events, context=context)


def forward_events_to_target(original: Callable[..., None], poller: Any, shard_id: str, records: Any) -> None:
    """The patched StreamPoller.forward_events_to_target: bisect when the mapping asks for it."""
    if not bisect_enabled(poller):
        original(poller, shard_id, records)
        return
    events = prepare_events(poller, shard_id, records)
    if events:
        deliver(poller, shard_id, events)


def configure_poller(poller: Any, esm_config: dict[str, Any]) -> None:
    """Give a stream poller what LocalStack's worker factory leaves out: the bisect setting and the mapping's ARN."""
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller

    if isinstance(poller, StreamPoller):
        stream_poller: Any = poller  # gains an attribute LocalStack's class does not declare
        stream_poller.stream_parameters[BISECT_PARAMETER] = bool(esm_config.get(BISECT_PARAMETER))
        stream_poller.event_source_mapping_arn = esm_config.get("EventSourceMappingArn")


def get_esm_worker(original: Callable[..., Any], factory: Any) -> Any:
    """The patched EsmWorkerFactory.get_esm_worker: the worker, its poller configured for bisect."""
    worker = original(factory)
    configure_poller(worker.poller, factory.esm_config)
    return worker


_applied: list[Any] = []  # the patches in place


def apply() -> None:
    """Patch LocalStack in memory (never on disk); idempotent. SwitchError for a bad global switch."""
    if _applied:
        return
    bisect_switch_from_environment()  # a bad value stops LocalStack here, with the fix, not mid-poll
    from localstack.services.lambda_.event_source_mapping.esm_worker_factory import EsmWorkerFactory
    from localstack.services.lambda_.event_source_mapping.pollers.stream_poller import StreamPoller
    from localstack.utils.patch import Patch

    for patch in (
        Patch.function(EsmWorkerFactory.get_esm_worker, get_esm_worker),
        Patch.function(StreamPoller.forward_events_to_target, forward_events_to_target),
    ):
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
