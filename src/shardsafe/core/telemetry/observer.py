"""What a batch tells operators: the summary line, metrics, tracing, and the lines for what went wrong.

Every line is JSON with stable keys (:mod:`shardsafe.core.telemetry.logs`); none of this can fail a batch.
Poison lines are written by :mod:`shardsafe.core.quarantine.flush`, with the quarantine.
"""

from __future__ import annotations

import os

from shardsafe.core.errors import qualified_name, safe_str
from shardsafe.core.telemetry import logs, tracing

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.outcomes import BatchResult
    from shardsafe.core.sources.base import Source
    from shardsafe.core.types import MetricsSink

PAYLOAD_PREVIEW_ENV = "SHARDSAFE_PAYLOAD_PREVIEW"
_OFF = frozenset({"false", "0", "no", "off"})


class Observer:
    """The log lines, metrics and trace of one invocation, with its function name and request id."""

    __slots__ = ("function_name", "preview", "request_id", "subsegment")

    def __init__(self, context: object, payload_preview: bool | None) -> None:
        self.function_name = attribute(context, "function_name") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.request_id = attribute(context, "aws_request_id")
        if payload_preview is None:
            payload_preview = os.environ.get(PAYLOAD_PREVIEW_ENV, "true").strip().lower() not in _OFF
        self.preview = payload_preview
        self.subsegment: Any = None

    def begin(self, enabled: bool | None) -> None:
        if tracing.tracing_active(enabled):
            self.subsegment = tracing.begin_batch()

    def retryable(self, error: BaseException, source: Source, raws: list[Any]) -> None:
        """``shardsafe.retryable``: a record (or a batch-handler group) handed back for a retryable error."""
        coordinates = source.describe(raws[0]) if raws else {}
        logs.emit(
            logs.WARNING,
            logs.RETRYABLE,
            {
                "error_type": qualified_name(type(error)),
                "error_message": safe_str(error),
                "event_source": coordinates.get("eventSource"),
                "stream_arn": coordinates.get("eventSourceArn"),
                "shard_id": coordinates.get("shardId"),
                "sequence_number": coordinates.get("sequenceNumber"),
                "sub_sequence_number": coordinates.get("subSequenceNumber"),
                "message_id": coordinates.get("messageId"),
                "records": len(raws),
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )

    def malformed_event(self, event: object, why: str) -> None:
        """An event shardsafe cannot read: logged in full (it is the only copy), in parts if long, whatever
        the logging settings."""
        fields = {
            "why": why,
            "event_type": type(event).__name__,
            "function_name": self.function_name,
            "request_id": self.request_id,
        }
        text = logs.as_log_text(event)
        try:
            logs.write_last_copy(logs.MALFORMED_EVENT, fields, "raw_event", text)
        except Exception:  # stdout refused it: the logging handlers are all that is left
            logs.emit_in_parts(logs.ERROR, logs.MALFORMED_EVENT, fields, "raw_event", text)

    def internal_error(self, error: BaseException) -> None:
        import traceback  # lazy: only a bug in shardsafe gets here

        logs.emit(
            logs.ERROR,
            logs.INTERNAL_ERROR,
            {
                "error_type": qualified_name(type(error)),
                "error_message": safe_str(error),
                "traceback": "".join(traceback.format_exception(error))[-8000:],
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )

    def lost(self, raw: object, why: str) -> bool:
        """Last resort: the raw record itself, as JSON, in the log (in parts if long), whatever the logging
        settings. False when not even that could be written: the caller hands the record back."""
        try:
            logs.write_last_copy(
                logs.QUARANTINE_FALLBACK,
                {"why": why, "function_name": self.function_name, "request_id": self.request_id},
                "raw_record",
                logs.as_log_text(raw),
            )
        except Exception:
            return False
        return True

    def finish(self, result: BatchResult, metrics: MetricsSink | None) -> None:
        """Summary line, metrics and trace for the batch."""
        counts = result.counts()
        ok = result.accounting_ok
        sources, raws = result.sources, result.raw_records
        coordinates = sources[0].describe(raws[0]) if sources and raws else {}
        logs.emit(
            logs.INFO if ok else logs.ERROR,
            logs.BATCH,
            {
                "event_source": result.event_source,
                "stream_arn": coordinates.get("eventSourceArn"),
                "shard_id": coordinates.get("shardId"),
                "received": result.received,
                "processed": counts.processed,
                "skipped": counts.skipped,
                "quarantined": counts.quarantined,
                "handed_back": counts.handed_back,
                "aggregated_records": result.aggregated_records,
                "user_records": result.user_records,
                "quarantine_fallback": result.undelivered,
                "accounting_ok": ok,
                "duration_ms": round(result.duration_ms, 3),
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )
        if metrics is not None:
            try:
                metrics.record_batch(
                    processed=counts.processed,
                    skipped=counts.skipped,
                    quarantined=counts.quarantined,
                    handed_back=counts.handed_back,
                    duration_ms=result.duration_ms,
                    function_name=self.function_name,
                    aggregated_records=result.aggregated_records,
                    user_records=result.user_records,
                )
            except Exception as error:
                logs.emit(logs.WARNING, logs.WARNED, {"message": "metrics sink failed", "error": repr(error)})
        if self.subsegment is not None:
            tracing.end_batch(
                self.subsegment,
                {
                    "event_source": result.event_source or "",
                    "shard_id": coordinates.get("shardId") or "",
                    "received": result.received,
                    "processed": counts.processed,
                    "skipped": counts.skipped,
                    "quarantined": counts.quarantined,
                    "handed_back": counts.handed_back,
                    "accounting_ok": ok,
                },
            )


def attribute(context: object, name: str) -> str | None:
    try:
        value = getattr(context, name, None)
    except Exception:
        return None
    return value if isinstance(value, str) else None
