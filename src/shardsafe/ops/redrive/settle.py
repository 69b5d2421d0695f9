"""Write what `decide` says to write, then delete or keep each message: one step for every source.

A source (the SQS receive loop, the S3 bucket reader) takes messages, recovers their records, and hands
them here with two callbacks: how to delete one (called only once all its records are written, or in
``accept_partial`` given up) and how to keep one (called for every message not deleted, and for every
message in a dry run). The records of all the messages handed over are written in one go.

    settle(taken, target, result, delete=delete_message, keep=release, not_deleted="...",
           dry_run=False, accept_partial=False)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from shardsafe.ops.aws import error_code
from shardsafe.ops.failures import FailureMessage, QuarantineMessage
from shardsafe.ops.redrive.decide import Action, Decision, decide
from shardsafe.ops.redrive.recovery import Recovery, recover
from shardsafe.ops.redrive.summary import MessageOutcome, RecordOutcome, RedriveResult
from shardsafe.ops.redrive.targets import Target

__all__ = ["delete_claim_check", "log_event", "settle"]

logger = logging.getLogger(__name__)


def settle[Taken](
    taken: Sequence[tuple[Taken, Recovery]],
    target: Target,
    result: RedriveResult,
    *,
    delete: Callable[[Taken, Recovery], bool],
    keep: Callable[[Taken], None],
    not_deleted: str,
    dry_run: bool,
    accept_partial: bool,
    on_outcome: Callable[[MessageOutcome], None] | None = None,
) -> None:
    """Write the records `decide` says to write, all at once; then delete or keep each message.

    ``delete`` says whether the message is gone; when it is not, the message counts as kept and
    ``not_deleted`` says why.
    """

    def decision(recovery: Recovery, written: int | None) -> Decision:
        refusals = (target.cannot_take(record) for record in recovery.records)
        return decide(
            recovered=len(recovery.records),
            unrecoverable=recovery.reasons,
            written=written,
            accept_partial=accept_partial,
            refused=next((why for why in refusals if why is not None), None),
        )

    plans = [decision(recovery, None) for _, recovery in taken]
    records = [
        record
        for (_, recovery), plan in zip(taken, plans, strict=True)
        if plan.action is Action.WRITE
        for record in recovery.records
    ]
    written = [True] * len(records) if dry_run or not records else target.write(records)
    position = 0
    for (item, recovery), plan in zip(taken, plans, strict=True):
        recovered = len(recovery.records)
        result.records_recovered += recovered
        result.count_kpl(recovery.records)
        result.records_unrecoverable += recovery.lost
        for unrecoverable in recovery.unrecoverable:
            result.unrecoverable.append(unrecoverable)
            log_event(logging.ERROR, **unrecoverable.to_json())
        done, final = 0, plan
        flags = [False] * recovered
        if plan.action is Action.WRITE:
            flags = written[position : position + recovered]
            done = sum(flags)
            position += recovered
            final = decision(recovery, done)
            if target.puts_to_stream:
                result.records_reput += done
            else:
                result.records_written += done
        if final.action is Action.DELETE and not dry_run and not delete(item, recovery):
            final = Decision(Action.KEEP, not_deleted)
        deleted = final.action is Action.DELETE
        if deleted:
            result.messages_deleted += 1
        else:
            result.messages_kept += 1
        if dry_run or not deleted:
            keep(item)
        action = (
            ("would delete" if deleted else "would keep") if dry_run else ("deleted" if deleted else "kept")
        )
        outcome = MessageOutcome(
            recovery.message.message_id,
            recovery.message.describe(),
            recovered,
            done,
            recovery.lost,
            action,
            final.why,
            tuple(
                RecordOutcome.of(record, bool(flag))
                for record, flag in zip(recovery.records, flags, strict=True)
            ),
        )
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)


def take(
    kinesis: Any,
    s3: Any,
    message: FailureMessage,
    message_id: str,
    result: RedriveResult,
    *,
    now: Any,
    retention_hours: dict[str, int | None],
    page_limit: int,
    streams: Any = None,
) -> Recovery:
    """Recover one message taken by the filters, its warnings reported: the step both sources share."""
    recovery = recover(
        kinesis,
        message,
        s3=s3,
        now=now,
        retention_hours=retention_hours,
        page_limit=page_limit,
        streams=streams,
    )
    for warning in recovery.warnings:
        result.warnings.append(warning)
        log_event(logging.WARNING, "retention_warning", messageId=message_id, message=warning)
    return recovery


def deleted(result: RedriveResult, what: str, message_id: str, call: Callable[[], object]) -> bool:
    """Run ``call`` (the delete of a queue message or an object); an AWS error becomes a warning and
    False, so the message or object is kept for the next run; any other error propagates."""
    try:
        call()
    except Exception as exc:
        if error_code(exc) is None:
            raise
        warning = f"{what} was redriven but not deleted ({error_code(exc)}: {exc})"
        result.warnings.append(warning)
        log_event(logging.WARNING, "delete_failed", messageId=message_id, message=warning)
        return False
    return True


def delete_claim_check(s3: Any, recovery: Recovery, result: RedriveResult) -> None:
    """Once a quarantine envelope is deleted, delete the S3 object holding its record's bytes too.

    Only when the record was recovered from it. A failed delete is a warning: the object is no longer
    needed, and the bucket's lifecycle expires it.
    """
    message = recovery.message
    if not isinstance(message, QuarantineMessage) or message.claim_check is None or not recovery.records:
        return
    check = message.claim_check
    try:
        s3.delete_object(Bucket=check.bucket, Key=check.key)
    except Exception as exc:
        if error_code(exc) is None:
            raise
        warning = (
            f"{message.message_id} was redriven, but its record's object s3://{check.bucket}/{check.key} "
            f"could not be deleted ({error_code(exc)}: {exc}); the bucket's lifecycle expires it"
        )
        result.warnings.append(warning)
        log_event(logging.WARNING, "claim_check_not_deleted", messageId=message.message_id, message=warning)


def log_event(level: int, event: str, **fields: Any) -> None:
    """One JSON log line with stable keys (``event`` first) on the ``shardsafe.ops.redrive`` logger."""
    logger.log(level, json.dumps({"event": event, **fields}))
