"""The stream processor: runs the user's function on each record and never lets one record stall a shard.

::

    from shardsafe import StreamProcessor

    def handle(record):               # record.data is the decoded JSON object
        save(record.data)

    processor = StreamProcessor(handle, validate={"TICKER": str, "PRICE": float})

    def lambda_handler(event, context):
        return processor(event, context)

Every record ends in exactly one of three places, and ``received = processed + quarantined +
retried`` is checked for every batch:

- **processed**: decoded, validated and handled without error;
- **quarantined** (poison): undecodable, invalid, or the handler raised an exception not marked
  retryable. The record is logged (one JSON line), sent to the quarantine queue with its payload,
  and the batch goes on;
- **retried**: the handler raised a retryable exception (:class:`~shardsafe.RetryableError`, or a
  type given in ``retryable=``). With ``report_batch_item_failures=True`` (the event source mapping
  has ``ReportBatchItemFailures``) that record and every record after it are returned as
  batch-item failures, so Lambda retries from there and order is kept. Without it the policy is:
  retry in process (``retry_attempts`` more times, with backoff, within the invocation's time),
  then quarantine the record with reason ``retries_exhausted``.

The handler returns ``{"batchItemFailures": [...]}``, which Lambda reads as success, and never
raises: a malformed event is logged and answered with success, a failing quarantine queue falls
back to writing the full envelope to the log, and a bug in shardsafe itself logs every record it
had not accounted for.
"""

from __future__ import annotations

import os
import time

from shardsafe import jsontext, logs, reasons, tracing
from shardsafe.decoding import DECODERS, Rejection, custom_decoder, qualified_name, safe_str
from shardsafe.errors import ConfigurationError, RetryableError
from shardsafe.records import SOURCES, Record, Source, json_bytes
from shardsafe.validation import as_validator

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from shardsafe.envelope import Envelope
    from shardsafe.shapes import BatchResponse, MetricsSink, QuarantineSink
    from shardsafe.validation import FieldType, Validator

PAYLOAD_PREVIEW_ENV = "SHARDSAFE_PAYLOAD_PREVIEW"
PREVIEW_BYTES = 256
#: Stop starting new records when this little of the invocation's time is left (at most 20 % of it).
DEADLINE_MARGIN_MS = 2000
#: A malformed event is logged up to this many characters (CloudWatch takes 256 KiB per line).
MALFORMED_EVENT_LOG_CHARS = 200_000
_OFF = frozenset({"false", "0", "no", "off"})


class QuarantinedRecord:
    """A poison record: where it was in the batch, why it failed, and its original bytes.

    Its coordinates, sha256 and base64 are worked out once and shared by the poison log line
    and the envelope.
    """

    __slots__ = (
        "_base64",
        "_coordinates",
        "_payload",
        "_sha256",
        "error_message",
        "error_type",
        "index",
        "raw",
        "reason",
        "source",
    )

    def __init__(
        self,
        source: Source,
        index: int,
        raw: Any,
        reason: str,
        error_type: str,
        error_message: str,
        payload: bytes | None = None,
        payload_base64: str | None = None,
    ) -> None:
        """``payload`` and ``payload_base64``, if given, must be the record's bytes and their base64."""
        self.source = source
        self.index = index
        self.raw = raw
        self.reason = reason
        self.error_type = error_type
        self.error_message = error_message
        self._payload = payload
        self._coordinates: dict[str, Any] | None = None
        self._sha256: str | None = None
        self._base64 = payload_base64

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.source.raw_payload(self.raw)
        return self._payload

    @property
    def payload_sha256(self) -> str:
        if self._sha256 is None:
            import hashlib  # poison path only: OpenSSL takes milliseconds to load

            self._sha256 = hashlib.sha256(self.payload).hexdigest()
        return self._sha256

    @property
    def payload_base64(self) -> str:
        """The payload in standard base64: only the alphabet, so JSON needs no escapes for it."""
        if self._base64 is None:
            self._base64 = _base64(self.payload)
        return self._base64

    def describe(self) -> dict[str, Any]:
        if self._coordinates is None:
            self._coordinates = self.source.describe(self.raw)
        return self._coordinates

    def __repr__(self) -> str:
        return f"<QuarantinedRecord #{self.index} {self.reason}: {self.error_message[:60]!r}>"


class BatchResult:
    """What happened to one batch; ``response`` is what the Lambda handler returns."""

    __slots__ = (
        "duration_ms",
        "event_source",
        "processed",
        "processed_positions",
        "quarantined",
        "received",
        "retried",
        "undelivered",
    )

    def __init__(self) -> None:
        self.event_source: str | None = None
        self.received = 0
        self.processed: list[Record] = []
        # Where the processed records not kept in ``processed`` were in the batch: the Lambda handler
        # lets each record go once its handler returns, and ints are no work for the garbage collector.
        self.processed_positions: list[int] = []
        self.quarantined: list[QuarantinedRecord] = []
        self.retried: list[str] = []  # item identifiers returned as batch-item failures
        self.undelivered = 0  # envelopes the quarantine sink did not take, written to the log instead
        self.duration_ms = 0.0

    @property
    def processed_count(self) -> int:
        """How many records were processed, kept in ``processed`` or not."""
        return len(self.processed) + len(self.processed_positions)

    @property
    def accounting_ok(self) -> bool:
        """received = processed + quarantined + retried."""
        return self.received == self.processed_count + len(self.quarantined) + len(self.retried)

    @property
    def response(self) -> BatchResponse:
        return {"batchItemFailures": [{"itemIdentifier": item} for item in self.retried]}

    def __repr__(self) -> str:
        return (
            f"<BatchResult received={self.received} processed={self.processed_count} "
            f"quarantined={len(self.quarantined)} retried={len(self.retried)}>"
        )


class StreamProcessor:
    """Process Kinesis, DynamoDB Streams and SQS batches record by record, quarantining poison.

    :param record_handler: called with each :class:`~shardsafe.Record` that decoded and
        validated; its return value is kept as ``record.result``.
    :param batch_handler: called once per batch with the records the record handler accepted
        (all valid records if there is no record handler): per-batch mode, or an
        on-batch-complete hook (write the batch's output in one go). If it raises an exception
        not marked retryable, the batch is bisected to find and quarantine the records it fails on.
    :param decode: ``"json"`` (an object; default), ``"text"``, ``"bytes"`` or a callable
        ``bytes -> value``. gzip and zlib payloads are inflated first. DynamoDB records are not
        decoded: ``data`` is the stream record's ``dynamodb`` section.
    :param validate: a callable (fails by raising or returning False) or a mapping of field
        names to types (see :class:`~shardsafe.FieldSchema`).
    :param retryable: exception types that mean "try again later", besides RetryableError.
    :param report_batch_item_failures: whether the event source mapping has
        ``ReportBatchItemFailures``; if not, retryable failures are retried in process.
    :param quarantine: where poison goes; default :class:`~shardsafe.SqsQuarantine` on
        ``SHARDSAFE_QUARANTINE_QUEUE_URL``.
    :param metrics: default :class:`~shardsafe.EmfMetrics`; ``False`` for none.
    :param tracing: None (default) traces sampled invocations in Lambda; False never.
    :param payload_preview: put a base64 preview of poison payloads in the log; default
        ``SHARDSAFE_PAYLOAD_PREVIEW`` (true unless "false").
    """

    def __init__(
        self,
        record_handler: Callable[[Record], object] | None = None,
        *,
        batch_handler: Callable[[list[Record]], object] | None = None,
        decode: str | Callable[[bytes], object] = "json",
        validate: Validator | Mapping[str, FieldType] | None = None,
        retryable: Sequence[type[BaseException]] = (),
        report_batch_item_failures: bool = True,
        retry_attempts: int = 2,
        retry_delay: float = 0.1,
        quarantine: QuarantineSink | None = None,
        metrics: MetricsSink | bool | None = None,
        tracing: bool | None = None,
        payload_preview: bool | None = None,
    ) -> None:
        if record_handler is not None and not callable(record_handler):
            raise ConfigurationError(f"record_handler must be callable, got {type(record_handler).__name__}")
        if batch_handler is not None and not callable(batch_handler):
            raise ConfigurationError(f"batch_handler must be callable, got {type(batch_handler).__name__}")
        if callable(decode):
            self._decode = custom_decoder(decode)
        elif decode in DECODERS:
            self._decode = DECODERS[decode]
        else:
            raise ConfigurationError(
                f"decode must be one of {sorted(DECODERS)} or a callable, got {decode!r}"
            )
        for kind in retryable:
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise ConfigurationError(f"retryable must list exception types, got {kind!r}")
        if retry_attempts < 0:
            raise ConfigurationError(f"retry_attempts must be 0 or more, got {retry_attempts}")
        self.record_handler = record_handler
        self.batch_handler = batch_handler
        self.report_batch_item_failures = report_batch_item_failures
        self.retry_attempts = retry_attempts
        self.retry_delay = retry_delay
        self.tracing = tracing
        self.payload_preview = payload_preview
        self._retryable: tuple[type[BaseException], ...] = (RetryableError, *retryable)
        self._validate = self._wrap_validator(as_validator(validate))
        self._quarantine = quarantine
        self._metrics: MetricsSink | None
        if metrics is None or metrics is True:
            from shardsafe.metrics import EmfMetrics  # small, but only when used

            self._metrics = EmfMetrics()
        else:
            self._metrics = metrics or None

    # --- entry points ---

    def __call__(self, event: object, context: object = None) -> BatchResponse:
        """The Lambda handler: ``lambda_handler = StreamProcessor(...)`` works as it is.

        Only the response leaves this call, so without a batch handler a record's decoded data is
        let go once the record handler returns, instead of being held to the end of the batch (which
        cost as much time as the decoding, and memory several times the payload). :meth:`process`
        keeps every record in ``BatchResult.processed``.
        """
        return self._run(event, context, keep_records=self.batch_handler is not None).response

    def process(self, event: object, context: object = None) -> BatchResult:
        """Process one event and say what happened to every record. Never raises."""
        return self._run(event, context, keep_records=True)

    def _run(self, event: object, context: object, *, keep_records: bool) -> BatchResult:
        started = time.perf_counter()
        result = BatchResult()
        run = _Invocation(self, result, context, keep_records)
        try:
            run.process(event)
        except Exception as error:
            run.internal_error(event, error)
        try:
            run.finish(started)
        except Exception:  # the summary is for operators; the records are already accounted for
            result.duration_ms = (time.perf_counter() - started) * 1000.0
        return result

    # --- set-up helpers ---

    def _wrap_validator(self, validate: Validator | None) -> Callable[[Any], None] | None:
        if validate is None:
            return None
        passthrough: tuple[type[BaseException], ...] = (Rejection, *self._retryable)

        def validated(data: Any) -> None:
            try:
                verdict = validate(data)
            except passthrough:
                raise
            except Exception as error:
                raise Rejection(reasons.VALIDATION_ERROR, error) from None
            if verdict is False:
                raise Rejection(reasons.VALIDATION_ERROR, f"validator {_name_of(validate)} returned False")

        return validated

    def _sink(self) -> QuarantineSink:
        if self._quarantine is None:
            from shardsafe.quarantine import SqsQuarantine  # only once there is poison

            self._quarantine = SqsQuarantine()
        return self._quarantine


class _Invocation:
    """One call of the processor: the state of one batch while it is processed."""

    def __init__(
        self, processor: StreamProcessor, result: BatchResult, context: object, keep_records: bool = True
    ) -> None:
        self.processor = processor
        self.result = result
        self.context = context
        self.keep_records = keep_records  # False: processed records are counted by position, not kept
        self.records: list[Any] = []
        self.source: Source | None = None
        self.cursor = 0  # records before this index are accounted for (processed, quarantined or retried)
        self.flushed = 0  # quarantined records before this index went to the sink
        self.deadline: float | None = None
        self.subsegment: Any = None
        self.function_name = _attribute(context, "function_name") or os.environ.get(
            "AWS_LAMBDA_FUNCTION_NAME"
        )
        self.request_id = _attribute(context, "aws_request_id")
        preview = processor.payload_preview
        if preview is None:
            preview = os.environ.get(PAYLOAD_PREVIEW_ENV, "true").strip().lower() not in _OFF
        self.preview = preview

    # --- the batch ---

    def process(self, event: object) -> None:
        records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(records, list):
            self.malformed_event(event, "the event is not an object with a list of Records")
            return
        source_name = next((r.get("eventSource") for r in records if isinstance(r, dict)), None)
        source = SOURCES.get(source_name) if isinstance(source_name, str) else None
        if source is None:
            if records:
                self.malformed_event(event, f"unsupported eventSource {source_name!r}")
            return
        self.source = source
        self.records = records
        self.result.event_source = source.name
        self.result.received = len(records)
        self.deadline = self._deadline()
        if tracing.tracing_active(self.processor.tracing):
            self.subsegment = tracing.begin_batch()
        self.run_records()
        self.cursor = len(records)
        if self.processor.batch_handler is not None and self.result.processed:
            self.run_batch_handler()
        self.flush()

    def run_records(self) -> None:
        """The hot loop: nothing here allocates or logs for a record that succeeds."""
        processor = self.processor
        source = self.source
        assert source is not None
        extract = source.extract
        decode = processor._decode if source.decodes else None
        validate = processor._validate
        handle = processor.record_handler
        make = source.record_class
        processed = self.result.processed
        positions = self.result.processed_positions
        deadline = self.deadline
        keep = self.keep_records
        for index, raw in enumerate(self.records):
            self.cursor = index
            payload = None
            try:
                payload = extract(raw)
                if decode is not None:
                    data = decode(payload)
                else:
                    data, payload = payload, None
                if validate is not None:
                    validate(data)
            except Rejection as rejection:
                # Only shardsafe's decoder and the validator (which sees the data, not raw) ran since
                # extract(): a payload carried in base64 (Kinesis) is still the text it came from.
                encoded = source.encoded_payload if payload is not None else None
                self.reject(
                    index,
                    raw,
                    rejection.reason,
                    rejection.error_type,
                    rejection.error_message,
                    payload,
                    encoded(raw) if encoded is not None else None,
                )
                continue
            except Exception as error:  # a retryable exception from the validator
                if self.retry_or_reject(index, raw, None, error, validating=True):
                    continue
                return
            record = make(raw, payload, data)
            if handle is not None:
                try:
                    record.result = handle(record)
                except Exception as error:
                    if self.retry_or_reject(index, raw, record, error):
                        continue
                    return
            if keep:
                processed.append(record)
            else:  # its position is enough to account for it: the record and its data go now
                positions.append(index)
            if deadline is not None and time.monotonic() > deadline:
                self.retry_from(index + 1, "the invocation is about to time out")
                return

    def retry_or_reject(
        self, index: int, raw: Any, record: Record | None, error: Exception, *, validating: bool = False
    ) -> bool:
        """Classify a failed record; True to go on with the next record, False to stop the batch."""
        processor = self.processor
        if not isinstance(error, processor._retryable):
            # The validator's own failures arrive as Rejection; anything else before the handler is ours.
            reason = reasons.INTERNAL_ERROR if validating else reasons.HANDLER_ERROR
            payload = record.payload if record is not None else None
            self.reject(index, raw, reason, qualified_name(type(error)), safe_str(error), payload)
            return True
        if processor.report_batch_item_failures:
            self.log_retryable(error, [raw])
            self.retry_from(index, "retryable error")
            return False
        # No ReportBatchItemFailures: retry the whole record here, then quarantine it.
        last_error: Exception = error
        for attempt in range(processor.retry_attempts):
            if not self._sleep_before_retry(attempt):
                break
            try:
                retried = self._attempt(raw)
            except Rejection as rejection:
                self.reject(index, raw, rejection.reason, rejection.error_type, rejection.error_message)
                return True
            except Exception as again:
                last_error = again
                if isinstance(again, processor._retryable):
                    continue
                self.reject(index, raw, reasons.HANDLER_ERROR, qualified_name(type(again)), safe_str(again))
                return True
            self.result.processed.append(retried)
            return True
        self.reject(
            index, raw, reasons.RETRIES_EXHAUSTED, qualified_name(type(last_error)), safe_str(last_error)
        )
        return True

    def _attempt(self, raw: Any) -> Record:
        """One whole try at a record, raising whatever fails: the slow path's version of the hot loop."""
        processor = self.processor
        source = self.source
        assert source is not None
        payload = source.extract(raw)
        if source.decodes:
            data = processor._decode(payload)
        else:
            data, payload = payload, None
        if processor._validate is not None:
            processor._validate(data)
        record = source.record_class(raw, payload, data)
        if processor.record_handler is not None:
            record.result = processor.record_handler(record)
        return record

    def run_batch_handler(self) -> None:
        """Call the batch handler; bisect on a poison failure, retry (or retry here) on a retryable one."""
        batch_handler = self.processor.batch_handler
        assert batch_handler is not None
        poison: list[tuple[Record, Exception]] = []
        retry: list[Record] = []
        exhausted: list[tuple[Record, Exception]] = []

        def call(records: list[Record]) -> None:
            try:
                batch_handler(records)
                return
            except Exception as error:
                failure = error
            if isinstance(failure, self.processor._retryable):
                if self.processor.report_batch_item_failures:
                    retry.extend(records)
                    self.log_retryable(failure, [record.raw for record in records])
                    return
                for attempt in range(self.processor.retry_attempts):
                    if not self._sleep_before_retry(attempt):
                        break
                    try:
                        batch_handler(records)
                        return
                    except Exception as again:
                        failure = again
                        if not isinstance(again, self.processor._retryable):
                            break
                if isinstance(failure, self.processor._retryable):
                    exhausted.extend((record, failure) for record in records)
                    return
            if len(records) == 1 or self._past_deadline():
                poison.extend((record, failure) for record in records)
                return
            middle = len(records) // 2
            call(records[:middle])
            call(records[middle:])

        call(list(self.result.processed))
        if not (poison or retry or exhausted):
            return
        index_of = {id(raw): index for index, raw in enumerate(self.records)}
        failed = {id(record) for record in retry}
        failed.update(id(record) for record, _ in poison + exhausted)
        self.result.processed = [record for record in self.result.processed if id(record) not in failed]
        for reason, failures in ((reasons.HANDLER_ERROR, poison), (reasons.RETRIES_EXHAUSTED, exhausted)):
            for record, error in failures:
                self.reject(
                    index_of.get(id(record.raw), -1),
                    record.raw,
                    reason,
                    qualified_name(type(error)),
                    safe_str(error),
                    record.payload,
                )
        for record in retry:
            self._retry_raw(record.raw, index_of.get(id(record.raw), -1))

    # --- outcomes ---

    def reject(
        self,
        index: int,
        raw: Any,
        reason: str,
        error_type: str,
        error_message: str,
        payload: bytes | None = None,
        payload_base64: str | None = None,
    ) -> None:
        """Quarantine a record; :meth:`flush` writes its poison log line and sends its envelope."""
        assert self.source is not None
        self.result.quarantined.append(
            QuarantinedRecord(
                self.source, index, raw, reason, error_type, error_message, payload, payload_base64
            )
        )

    def retry_from(self, index: int, why: str) -> None:
        """Return this record and every later one as batch-item failures, so Lambda retries in order."""
        for position in range(index, len(self.records)):
            self._retry_raw(self.records[position], position)
        self.cursor = len(self.records)

    def _retry_raw(self, raw: Any, index: int) -> None:
        assert self.source is not None
        item = self.source.item_identifier(raw)
        if item:
            self.result.retried.append(item)
        else:  # Lambda would take an empty id as "retry the whole batch": quarantine it instead
            self.reject(
                index, raw, reasons.MALFORMED_RECORD, "shardsafe.Rejection", "record has no item identifier"
            )

    def flush(self) -> None:
        """Log and quarantine the records rejected since the last flush.

        Their poison lines go first, in one write; then their envelopes go to the sink, and
        whatever it does not take goes to the log in full.
        """
        pending = self.result.quarantined[self.flushed :]
        self.flushed = len(self.result.quarantined)
        if not pending:
            return
        from shardsafe.envelope import build_envelope  # only once there is poison

        quarantined_at = logs.iso_utc()  # one clock read for the lines and envelopes written together here
        self.log_poison(pending, quarantined_at)
        envelopes: list[Envelope] = []
        undelivered: list[tuple[Envelope, str]] = []
        try:
            sink = self.processor._sink()
            limit = int(getattr(sink, "max_message_bytes", 0)) or 262_144
        except Exception as error:
            sink, limit = None, 262_144
            sink_error = f"quarantine sink unavailable: {error!r}"
        for quarantined in pending:
            try:
                envelopes.append(
                    build_envelope(
                        reason=quarantined.reason,
                        payload=quarantined.payload,
                        record=quarantined.describe(),
                        error_type=quarantined.error_type,
                        error_message=quarantined.error_message,
                        function_name=self.function_name,
                        request_id=self.request_id,
                        max_message_bytes=limit,
                        payload_sha256=quarantined.payload_sha256,
                        payload_base64=quarantined.payload_base64,
                        quarantined_at=quarantined_at,
                    )
                )
            except Exception as error:
                self.log_lost(quarantined.raw, error)
        if sink is None:
            undelivered = [(envelope, sink_error) for envelope in envelopes]
        else:
            try:
                undelivered = list(sink.send(envelopes))
            except Exception as error:
                undelivered = [(envelope, f"quarantine sink raised {error!r}") for envelope in envelopes]
        self.result.undelivered += len(undelivered)
        for envelope, why in undelivered:
            logs.emit(logs.ERROR, logs.QUARANTINE_FALLBACK, {"why": why, "envelope": envelope.to_dict()})

    def malformed_event(self, event: object, why: str) -> None:
        """Log an event shardsafe cannot read, in full (it is the only copy), and answer success."""
        text = _as_log_text(event)
        logs.emit(
            logs.ERROR,
            logs.MALFORMED_EVENT,
            {
                "why": why,
                "event_type": type(event).__name__,
                "raw_event": text[:MALFORMED_EVENT_LOG_CHARS],
                "raw_event_truncated": len(text) > MALFORMED_EVENT_LOG_CHARS,
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )

    def internal_error(self, event: object, error: Exception) -> None:
        """A bug in shardsafe: log it, and quarantine (or at least log) every record not yet accounted for."""
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
        try:
            if self.source is None:
                self.malformed_event(event, "internal error before the batch was read")
                return
            accounted = {id(record.raw) for record in self.result.processed}
            accounted.update(id(self.records[index]) for index in self.result.processed_positions)
            accounted.update(id(quarantined.raw) for quarantined in self.result.quarantined)
            retried = set(self.result.retried)
            for index in range(self.cursor, len(self.records)):
                raw = self.records[index]
                if id(raw) in accounted or self.source.item_identifier(raw) in retried:
                    continue
                self.reject(index, raw, reasons.INTERNAL_ERROR, qualified_name(type(error)), safe_str(error))
            self.flush()
        except Exception as second:
            for raw in self.records[self.cursor :]:
                self.log_lost(raw, second)

    def finish(self, started: float) -> None:
        """Summary line, metrics and trace for the batch; none of them can fail the batch."""
        result = self.result
        result.duration_ms = (time.perf_counter() - started) * 1000.0
        processed, quarantined, retried = result.processed_count, len(result.quarantined), len(result.retried)
        ok = result.accounting_ok
        coordinates = self.source.describe(self.records[0]) if self.source and self.records else {}
        logs.emit(
            logs.INFO if ok else logs.ERROR,
            logs.BATCH,
            {
                "event_source": result.event_source,
                "stream_arn": coordinates.get("eventSourceArn"),
                "shard_id": coordinates.get("shardId"),
                "received": result.received,
                "processed": processed,
                "quarantined": quarantined,
                "retryable": retried,
                "quarantine_fallback": result.undelivered,
                "accounting_ok": ok,
                "duration_ms": round(result.duration_ms, 3),
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )
        metrics = self.processor._metrics
        if metrics is not None:
            try:
                metrics.record_batch(
                    processed=processed,
                    quarantined=quarantined,
                    retried=retried,
                    duration_ms=result.duration_ms,
                    function_name=self.function_name,
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
                    "processed": processed,
                    "quarantined": quarantined,
                    "retried": retried,
                    "accounting_ok": ok,
                },
            )

    # --- log lines ---

    def log_poison(self, pending: list[QuarantinedRecord], timestamp: str | None = None) -> None:
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
        preview_on = self.preview
        tail = f'"function_name":{value(self.function_name)},"request_id":{value(self.request_id)}'
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
                        preview, truncated = f'"{_base64(payload[:PREVIEW_BYTES])}"', "true"
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
                            "record": _as_log_text(quarantined.raw)[:MALFORMED_EVENT_LOG_CHARS],
                        }
                    )
                )
        logs.emit_members(logs.ERROR, logs.POISON, lines, timestamp)

    def log_retryable(self, error: Exception, raws: list[Any]) -> None:
        assert self.source is not None
        coordinates = self.source.describe(raws[0]) if raws else {}
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
                "records": len(raws),
                "function_name": self.function_name,
                "request_id": self.request_id,
            },
        )

    def log_lost(self, raw: Any, error: Exception) -> None:
        """Last resort: the raw record itself, as JSON, in the log."""
        text = _as_log_text(raw)
        logs.emit(
            logs.ERROR,
            logs.QUARANTINE_FALLBACK,
            {
                "why": f"could not build an envelope: {error!r}",
                "raw_record": text[:MALFORMED_EVENT_LOG_CHARS],
            },
        )

    # --- time ---

    def _deadline(self) -> float | None:
        if not self.processor.report_batch_item_failures:
            return None
        remaining = _remaining_ms(self.context)
        if remaining is None:
            return None
        margin = min(DEADLINE_MARGIN_MS, remaining * 0.2)
        return time.monotonic() + (remaining - margin) / 1000.0

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def _sleep_before_retry(self, attempt: int) -> bool:
        """Back off before in-process retry ``attempt``; False if the invocation has no time for it."""
        delay = self.processor.retry_delay * 2**attempt
        remaining = _remaining_ms(self.context)
        if remaining is not None and remaining - delay * 1000.0 < DEADLINE_MARGIN_MS:
            return False
        time.sleep(delay)
        return True


def _attribute(context: object, name: str) -> str | None:
    try:
        value = getattr(context, name, None)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _remaining_ms(context: object) -> float | None:
    try:
        remaining = context.get_remaining_time_in_millis()  # type: ignore[attr-defined]
    except Exception:
        return None
    return (
        float(remaining) if isinstance(remaining, int | float) and not isinstance(remaining, bool) else None
    )


def _iso(seconds: object) -> str | None:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    try:
        return logs.iso_utc(seconds)
    except (OverflowError, ValueError, OSError):
        return None


def _base64(data: bytes) -> str:
    """``base64.b64encode(data)`` as text, without importing base64 for it."""
    import binascii  # poison path only

    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _name_of(function: object) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__


def _as_log_text(value: object) -> str:
    """``value`` as JSON text for the log, or its repr when it is not JSON-serialisable."""
    try:
        return json_bytes(value).decode("utf-8", "replace")
    except Exception:
        return repr(value)
