"""The quarantine: a poison record's log line, its envelope, the sink, and the log as last resort.

At the end of a batch (:func:`flush`), the records quarantined since the last flush get:

1. one ``shardsafe.poison`` line each (reason, error, coordinates, size, sha256, a payload preview),
   written together;
2. an envelope each (:mod:`shardsafe.core.quarantine.envelope`), sent to the quarantine sink, which may use the
   invocation's time up to the flush deadline;
   A record whose envelope would not fit the sink's messages is first written to the sink's
   claim-check store (S3), and its envelope points there (:mod:`shardsafe.core.quarantine.claimcheck`);
3. whatever the sink did not take: the whole envelope in the claim-check store
   (``shardsafe.quarantine_s3`` says where), else in the log (``shardsafe.quarantine_fallback``),
   in as many lines as it takes for each to fit CloudWatch's event limit, with what is needed to
   put the payload back together (:func:`shardsafe.core.telemetry.logs.reassemble`).
"""

from __future__ import annotations

from shardsafe.core import jsontext
from shardsafe.core.outcomes import QuarantinedRecord, base64_text
from shardsafe.core.telemetry import logs
from shardsafe.core.telemetry.observer import as_log_text

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable

    from shardsafe.core.quarantine.envelope import Envelope
    from shardsafe.core.run import Invocation
    from shardsafe.core.types import ClaimCheckStore, QuarantineSink

PREVIEW_BYTES = 256
#: The envelope size assumed when the sink does not say (SQS's limit before 2025).
DEFAULT_MESSAGE_BYTES = 262_144


def flush(run: Invocation, sink: Callable[[], QuarantineSink]) -> None:
    """Log and quarantine the records quarantined since the last flush."""
    if not run.unflushed:
        return
    pending: list[QuarantinedRecord] = [run.cells[index] for index in run.unflushed]
    from shardsafe.core.quarantine.envelope import build_envelope  # only once there is poison

    observer = run.observer
    quarantined_at = logs.iso_utc()  # one clock read for the lines and envelopes written together here
    log_poison(run, pending, quarantined_at)
    try:
        target = sink()
        limit = int(getattr(target, "max_message_bytes", 0)) or DEFAULT_MESSAGE_BYTES
    except Exception as error:
        target, limit = None, DEFAULT_MESSAGE_BYTES
        sink_error = f"quarantine sink unavailable: {error!r}"
    built: list[tuple[Envelope, QuarantinedRecord]] = []
    for quarantined in pending:
        try:
            envelope = build_envelope(
                reason=quarantined.reason,
                payload=quarantined.payload,
                record=quarantined.describe(),
                error_type=quarantined.error_type,
                error_message=quarantined.error_message,
                function_name=observer.function_name,
                request_id=observer.request_id,
                max_message_bytes=limit,
                payload_sha256=quarantined.payload_sha256,
                payload_base64=quarantined.payload_base64,
                quarantined_at=quarantined_at,
            )
        except Exception as error:
            observer.lost(quarantined.raw, f"could not build an envelope: {error!r}")
            continue
        built.append((envelope, quarantined))
    store = getattr(target, "claim_checks", None) if target is not None else None
    claim_errors: dict[int, str] = {}
    if store is not None and any(envelope.truncated for envelope, _ in built):
        built, claim_errors = _claim_check(run, store, built, quarantined_at)
    envelopes = [envelope for envelope, _ in built]
    left_out: dict[int, str]
    if target is None:
        left_out = {id(envelope): sink_error for envelope in envelopes}
    else:
        try:
            left_out = {
                id(envelope): str(why)
                for envelope, why in target.send(envelopes, deadline=run.deadline.flush_at)
            }
        except Exception as error:
            left_out = {
                id(envelope): f"quarantine sink raised or answered wrongly: {error!r}"
                for envelope in envelopes
            }
    run.result.undelivered += len(left_out)
    # In S3, else the log: what the sink did not take, and what it took without the payload or a claim check.
    for envelope, quarantined in built:
        why = left_out.get(id(envelope))
        if why is None and envelope.truncated:
            why = "the payload did not fit a quarantine message: it is kept here in full"
            if id(envelope) in claim_errors:
                why += f" (no claim check: {claim_errors[id(envelope)]})"
        if why is None:
            continue
        if store is not None and id(envelope) in left_out:
            try:
                _keep_envelope(run, store, envelope, why, quarantined, quarantined_at)
                continue
            except Exception as error:
                why += f"; nor could the envelope be written to S3: {error}"
        try:
            log_envelope(envelope, why, quarantined)
        except Exception as error:
            observer.lost(quarantined.raw, f"{why}; then the envelope could not be logged: {error!r}")
    run.unflushed = []  # only now: a flush that broke half-way is done again, not forgotten


def _claim_check(
    run: Invocation,
    store: ClaimCheckStore,
    built: list[tuple[Envelope, QuarantinedRecord]],
    quarantined_at: str,
) -> tuple[list[tuple[Envelope, QuarantinedRecord]], dict[int, str]]:
    """Write each payload too big for a message to the store; its envelope points there instead.

    The uploads leave the sink one call's time before the flush deadline. What cannot be written
    keeps its truncated envelope (the payload then goes to the log in full), with why.
    """
    from shardsafe.core.quarantine import claimcheck
    from shardsafe.core.quarantine import sqs as quarantine

    flush_at = run.deadline.flush_at
    deadline = None if flush_at is None else flush_at - quarantine.CALL_SECONDS
    errors: dict[int, str] = {}
    checked: list[tuple[Envelope, QuarantinedRecord]] = []
    for envelope, quarantined in built:
        if envelope.truncated:
            key = claimcheck.object_key(
                claimcheck.PAYLOADS,
                quarantined_at,
                run.observer.request_id,
                quarantined.index,
                quarantined.payload_sha256,
            )
            try:
                where = store.put(
                    key, quarantined.payload, sha256=quarantined.payload_sha256, deadline=deadline
                )
            except Exception as error:
                errors[id(envelope)] = str(error)
            else:
                checked.append((envelope.with_claim_check(where), quarantined))
                continue
        checked.append((envelope, quarantined))
    return checked, errors


def _keep_envelope(
    run: Invocation,
    store: ClaimCheckStore,
    envelope: Envelope,
    why: str,
    quarantined: QuarantinedRecord,
    quarantined_at: str,
) -> None:
    """An envelope the sink did not take, whole (payload inline unless a claim check holds it), in the
    store; then one line saying where. Raises if it could not be written."""
    import hashlib
    import json

    from shardsafe.core.quarantine import claimcheck

    document = envelope.to_dict()
    if envelope.claim_check is None:
        payload = document["payload"]
        payload.pop("truncated", None)
        payload["base64"] = quarantined.payload_base64
    body = json.dumps(document, separators=(",", ":")).encode()
    sha256 = hashlib.sha256(body).hexdigest()
    key = claimcheck.object_key(
        claimcheck.ENVELOPES,
        quarantined_at,
        run.observer.request_id,
        quarantined.index,
        envelope.payload_sha256,
    )
    where = store.put(key + ".json", body, sha256=sha256, deadline=run.deadline.flush_at)
    summary = {key: value for key, value in document.items() if key != "payload"}
    logs.emit(
        logs.WARNING,
        logs.QUARANTINE_S3,
        {
            "why": why,
            "s3": where.to_dict(),
            "payload_sha256": envelope.payload_sha256,
            "payload_size": envelope.payload_size,
            "envelope": summary,
        },
    )


def log_envelope(envelope: Envelope, why: str, quarantined: QuarantinedRecord) -> None:
    """An envelope no sink took, in the log: its fields, and the payload's base64 in parts that fit."""
    document = envelope.to_dict()
    payload = document.get("payload") or {}
    encoded = payload.pop("base64", None)
    if (
        encoded is None and quarantined is not None
    ):  # the envelope left it out to fit a message: the log has room
        payload.pop("truncated", None)
        encoded = quarantined.payload_base64
    logs.emit_in_parts(
        logs.ERROR,
        logs.QUARANTINE_FALLBACK,
        {"why": why, "envelope": document},
        "payload_base64",
        encoded or "",
    )


def log_poison(run: Invocation, pending: list[QuarantinedRecord], timestamp: str | None = None) -> None:
    """``shardsafe.poison``, one line per record: reason, error, coordinates, size, sha256 and
    (unless off) a base64 preview.

    The fields are written as a template, the same text :func:`logs.emit` would make of them
    (tests/functional/test_poison.py checks): a line per poison record is much of what poison costs.
    """
    if not logs.enabled(logs.ERROR):
        return
    value = jsontext.value
    fallback = logs.encode_field
    string = jsontext.string
    observer = run.observer
    preview_on = observer.preview
    tail = f'"function_name":{value(observer.function_name)},"request_id":{value(observer.request_id)}'
    lines = []
    for quarantined in pending:
        try:
            payload = quarantined.payload
            size = len(payload)
            get = quarantined.describe().get
            preview, truncated = "null", "false"
            # The preview is the whole payload's base64 when it is short enough: the envelope has it too.
            if preview_on:
                if size <= PREVIEW_BYTES:
                    preview = f'"{quarantined.payload_base64}"'
                else:
                    preview, truncated = f'"{base64_text(payload[:PREVIEW_BYTES])}"', "true"
            lines.append(
                f'"reason":{string(quarantined.reason)},"error_type":{string(quarantined.error_type)},'
                f'"error_message":{string(quarantined.error_message)},'
                f'"event_source":{value(get("eventSource"), fallback)},'
                f'"stream_arn":{value(get("eventSourceArn"), fallback)},'
                f'"shard_id":{value(get("shardId"), fallback)},'
                f'"sequence_number":{value(get("sequenceNumber"), fallback)},'
                f'"partition_key":{value(get("partitionKey"), fallback)},'
                f'"message_id":{value(get("messageId"), fallback)},'
                f'"arrival_time":{value(_iso(get("approximateArrivalTimestamp")))},'
                f'"batch_index":{quarantined.index},"size":{size},'
                f'"payload_sha256":"{quarantined.payload_sha256}",'
                f'"payload_preview":{preview},"payload_preview_truncated":{truncated},{tail}'
            )
        except Exception as error:  # a record this cannot describe still gets a line
            lines.append(
                logs.encode_members(
                    {
                        "reason": quarantined.reason,
                        "batch_index": quarantined.index,
                        "describe_error": repr(error),
                        "record": as_log_text(quarantined.raw)[: PREVIEW_BYTES * 4],
                    }
                )
            )
    logs.emit_members(logs.ERROR, logs.POISON, lines, timestamp)


def _iso(seconds: object) -> str | None:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    try:
        return logs.iso_utc(seconds)
    except (OverflowError, ValueError, OSError):
        return None
