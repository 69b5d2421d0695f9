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
   put the payload back together (:func:`shardsafe.core.telemetry.logs.reassemble`). Those lines are
   written to stdout whatever the logging settings (:func:`~shardsafe.core.telemetry.logs.write_last_copy`);
   a record whose last copy cannot be written even there is returned as not kept, and the run loop
   hands it back to Lambda instead of reporting it quarantined.
"""

from __future__ import annotations

from shardsafe.core import jsontext
from shardsafe.core.errors import qualified_name, safe_str
from shardsafe.core.quarantine.record import QuarantinedRecord, base64_text
from shardsafe.core.quarantine.sink import DEFAULT_CALL_SECONDS, DEFAULT_MAX_MESSAGE_BYTES
from shardsafe.core.telemetry import logs
from shardsafe.core.telemetry.logs import as_log_text

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from shardsafe.core.quarantine.envelope import Envelope
    from shardsafe.core.quarantine.sink import ClaimCheckStore, QuarantineSink
    from shardsafe.core.telemetry.observer import Observer

PREVIEW_BYTES = 256
#: The most characters of a sink's reason kept with an envelope it did not take.
WHY_CHARS = 1024


def flush(
    pending: Sequence[QuarantinedRecord],
    sink: Callable[[], QuarantineSink],
    *,
    observer: Observer,
    flush_at: float | None,
) -> tuple[int, list[QuarantinedRecord]]:
    """Log and quarantine ``pending``; returns how many envelopes the sink did not take (kept in S3 or the
    log instead), and the records of which no copy could be written anywhere. ``sink`` is called once
    there is something to send; ``flush_at`` (``time.monotonic()``) is when the sink must be done."""
    unkept: list[QuarantinedRecord] = []
    if not pending:
        return 0, unkept
    from shardsafe.core.quarantine.envelope import build_envelope  # only once there is poison

    quarantined_at = logs.iso_utc()  # one clock read for the lines and envelopes written together here
    log_poison(observer, pending, quarantined_at)
    target: QuarantineSink | None
    try:
        target = sink()
        limit = _positive(getattr(target, "max_message_bytes", None), DEFAULT_MAX_MESSAGE_BYTES)
        call_seconds = _positive(getattr(target, "call_seconds", None), DEFAULT_CALL_SECONDS)
        sizing = getattr(target, "message_size", None)
        store: ClaimCheckStore | None = getattr(target, "claim_checks", None)
    except Exception as error:
        target, limit, call_seconds, sizing, store = (
            None,
            DEFAULT_MAX_MESSAGE_BYTES,
            DEFAULT_CALL_SECONDS,
            None,
            None,
        )
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
                max_message_bytes=None,
                payload_sha256=quarantined.payload_sha256,
                payload_base64=quarantined.payload_base64,
                quarantined_at=quarantined_at,
            )
            size = sizing(envelope) if callable(sizing) else envelope.size_with_attributes()
            if size > limit:
                envelope = envelope.without_payload()
        except Exception as error:
            if not observer.lost(quarantined.raw, f"could not build an envelope: {error!r}"):
                unkept.append(quarantined)
            continue
        built.append((envelope, quarantined))
    claim_errors: dict[int, str] = {}
    if store is not None and any(envelope.truncated for envelope, _ in built):
        claim_errors = _claim_check(observer, store, built, quarantined_at, flush_at, call_seconds)
    left_out: dict[int, str]  # by position in ``built``
    if target is None:
        left_out = dict.fromkeys(range(len(built)), sink_error)
    else:
        left_out = _send(target, [envelope for envelope, _ in built], flush_at)
    # In S3, else the log: what the sink did not take, and what it took without the payload or a claim check.
    for position, (envelope, quarantined) in enumerate(built):
        why = left_out.get(position)
        if why is None and envelope.truncated:
            why = "the payload did not fit a quarantine message: it is kept here in full"
            if position in claim_errors:
                why += f" (no claim check: {claim_errors[position]})"
        if why is None:
            continue
        if store is not None and position in left_out:
            try:
                _keep_envelope(observer, store, envelope, why, quarantined, quarantined_at, flush_at)
                continue
            except Exception as error:
                why += f"; nor could the envelope be written to S3: {error}"
        try:
            log_envelope(envelope, why, quarantined)
        except Exception as error:
            if not observer.lost(quarantined.raw, f"{why}; then the envelope could not be logged: {error!r}"):
                unkept.append(quarantined)
    return len(left_out), unkept


def _send(target: QuarantineSink, envelopes: list[Envelope], flush_at: float | None) -> dict[int, str]:
    """What the sink did not deliver, by position: its own answer, or every envelope when it raised or
    answered other than the contract says (a list of ``(position, why)``, each position in range)."""
    try:
        answer = target.send(envelopes, flush_at)
        left_out: dict[int, str] = {}
        for item in answer:
            position, why = item
            if type(position) is not int or not 0 <= position < len(envelopes):
                raise TypeError(
                    f"send() answered with a {type(position).__name__} where the position of an envelope "
                    f"it was given (an int from 0 to {len(envelopes) - 1}) belongs"
                )
            left_out[position] = bounded(why)
        return left_out
    except Exception as error:
        why = f"quarantine sink raised or answered wrongly: {qualified_name(type(error))}: {safe_str(error, WHY_CHARS)}"
        return dict.fromkeys(range(len(envelopes)), why)


def bounded(why: object) -> str:
    """A sink's reason as text of at most :data:`WHY_CHARS` characters: an envelope kept in the log leaves
    most of its line to the payload, whatever a sink's error says."""
    try:
        text = why if isinstance(why, str) else str(why)
    except Exception:
        text = f"<unprintable {type(why).__name__}>"
    return text if len(text) <= WHY_CHARS else text[: WHY_CHARS - 3] + "..."


def _positive(value: Any, default: float) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else default


def _claim_check(
    observer: Observer,
    store: ClaimCheckStore,
    built: list[tuple[Envelope, QuarantinedRecord]],
    quarantined_at: str,
    flush_at: float | None,
    call_seconds: float,
) -> dict[int, str]:
    """Write each payload too big for a message to the store; its envelope (replaced in ``built``) points
    there instead.

    The uploads leave the sink one call's time before the flush deadline. What cannot be written
    keeps its truncated envelope (the payload then goes to the log in full); returns why, by position.
    """
    from shardsafe.core.quarantine import claimcheck

    deadline = None if flush_at is None else flush_at - call_seconds
    errors: dict[int, str] = {}
    for position, (envelope, quarantined) in enumerate(built):
        if not envelope.truncated:
            continue
        key = claimcheck.object_key(
            claimcheck.PAYLOADS,
            quarantined_at,
            observer.request_id,
            quarantined.index,
            quarantined.payload_sha256,
        )
        try:
            where = store.put(key, quarantined.payload, sha256=quarantined.payload_sha256, deadline=deadline)
        except Exception as error:
            errors[position] = str(error)
        else:
            built[position] = (envelope.with_claim_check(where), quarantined)
    return errors


def _keep_envelope(
    observer: Observer,
    store: ClaimCheckStore,
    envelope: Envelope,
    why: str,
    quarantined: QuarantinedRecord,
    quarantined_at: str,
    flush_at: float | None,
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
        observer.request_id,
        quarantined.index,
        envelope.payload_sha256,
    )
    where = store.put(key + ".json", body, sha256=sha256, deadline=flush_at)
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
    """An envelope no sink took, in the log: its fields, and the payload's base64 in parts that fit.

    The last copy: written whatever the logging settings, or this raises."""
    document = envelope.to_dict()
    payload = document.get("payload") or {}
    encoded = payload.pop("base64", None)
    if (
        encoded is None and quarantined is not None
    ):  # the envelope left it out to fit a message: the log has room
        payload.pop("truncated", None)
        encoded = quarantined.payload_base64
    logs.write_last_copy(
        logs.QUARANTINE_FALLBACK, {"why": why, "envelope": document}, "payload_base64", encoded or ""
    )


def log_poison(
    observer: Observer, pending: Sequence[QuarantinedRecord], timestamp: str | None = None
) -> None:
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
                f'"sub_sequence_number":{value(get("subSequenceNumber"), fallback)},'
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
