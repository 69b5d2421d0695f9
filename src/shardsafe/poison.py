"""The quarantine: a poison record's log line, its envelope, the sink, and the log as last resort.

At the end of a batch (:func:`flush`), the records quarantined since the last flush get:

1. one ``shardsafe.poison`` line each (reason, error, coordinates, size, sha256, a payload preview),
   written together;
2. an envelope each (:mod:`shardsafe.envelope`), sent to the quarantine sink, which may use the
   invocation's time up to the flush deadline;
3. whatever the sink did not take: the envelope in the log (``shardsafe.quarantine_fallback``), in
   as many lines as it takes for each to fit CloudWatch's event limit, with what is needed to put
   the payload back together (:func:`shardsafe.logs.reassemble`).
"""

from __future__ import annotations

from shardsafe import jsontext, logs
from shardsafe.observe import as_log_text
from shardsafe.outcomes import QuarantinedRecord, base64_text

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable

    from shardsafe.envelope import Envelope
    from shardsafe.invocation import Invocation
    from shardsafe.shapes import QuarantineSink

PREVIEW_BYTES = 256
#: The envelope size assumed when the sink does not say (SQS's limit before 2025).
DEFAULT_MESSAGE_BYTES = 262_144


def flush(run: Invocation, sink: Callable[[], QuarantineSink]) -> None:
    """Log and quarantine the records quarantined since the last flush."""
    if not run.unflushed:
        return
    pending: list[QuarantinedRecord] = [run.cells[index] for index in run.unflushed]
    from shardsafe.envelope import build_envelope  # only once there is poison

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
    # In the log: what the sink did not take, and what it took without the payload (too big for a message).
    for envelope, quarantined in built:
        why = left_out.get(id(envelope))
        if why is None and envelope.truncated:
            why = "the payload did not fit a quarantine message: it is kept here in full"
        if why is None:
            continue
        try:
            log_envelope(envelope, why, quarantined)
        except Exception as error:
            observer.lost(quarantined.raw, f"{why}; then the envelope could not be logged: {error!r}")
    run.unflushed = []  # only now: a flush that broke half-way is done again, not forgotten


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
