"""The stream processor: runs the user's function on each record and never lets one record stall a shard.

::

    from shardsafe import StreamProcessor

    def handle(record):               # record.data is the decoded JSON object
        save(record.data)

    processor = StreamProcessor(handle, validate={"TICKER": str, "PRICE": float})

    def lambda_handler(event, context):
        return processor(event, context)

Every record ends in exactly one place (see :mod:`shardsafe.core.outcomes`):

- **processed**: decoded, validated and handled without error;
- **quarantined** (poison): undecodable, invalid, or the handler raised what the policy calls
  poison. The record is logged (one JSON line), sent to the quarantine with its payload, and the
  batch goes on;
- **handed back** to Lambda as a batch-item failure: the handler raised what the policy calls
  retryable (a :class:`~shardsafe.RetryableError`, a type in ``retryable=``, or a transient failure
  such as a timeout or AWS throttling: :mod:`shardsafe.core.policy`), or the invocation ran out of time.
  Streams and FIFO queues hand back the later records too, so order is kept.

How a batch flows, and where each part lives: :mod:`shardsafe.core`.

The handler never raises but when a record would otherwise be lost: when records were handed back and
the mapping does not report batch-item failures (``report_batch_item_failures=False``), Lambda would
ignore the response, so after retrying in process it raises
:class:`~shardsafe.core.errors.BatchIncompleteError` and Lambda retries the batch; it does the same when
a poison record could be kept nowhere (not even in the log) and has no item identifier to hand it back
with.
"""

from __future__ import annotations

import os
import time

from shardsafe.core.errors import BatchIncompleteError, ConfigurationError
from shardsafe.core.generic import Generic
from shardsafe.core.outcomes import BatchResult, QuarantinedRecord
from shardsafe.core.pipeline import build_attempt
from shardsafe.core.policy import Deadline, Policy
from shardsafe.core.run import Invocation
from shardsafe.core.sources import SOURCES, Source, by_name, kpl, read_event
from shardsafe.core.sources.sqs import FIFO_SCOPES
from shardsafe.core.stages.decode import default_limits, make_decoder
from shardsafe.core.stages.handle import EventLoop, is_async_callable, is_generator_callable
from shardsafe.core.stages.validate import as_converter, as_validator, validate_stage
from shardsafe.core.telemetry import logs
from shardsafe.core.telemetry.observer import Observer
from shardsafe.core.window import read_window, run_window

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any

    from typing_extensions import TypeVar

    from shardsafe.core.idempotency import Idempotency
    from shardsafe.core.idempotency.stage import IdempotencyStage
    from shardsafe.core.quarantine.sink import QuarantineSink
    from shardsafe.core.records import Record
    from shardsafe.core.sources import Batch
    from shardsafe.core.stages.decode import DecodeLimits
    from shardsafe.core.stages.validate import Converter, FieldType, Validator
    from shardsafe.core.types import BatchResponse, MetricsSink
    from shardsafe.core.window import TumblingWindow

    #: The record class the handlers take: ``def handle(record: DynamoDBRecord)``, ``KinesisRecord[Tick]``.
    RecordT = TypeVar("RecordT", bound=Record[Any], default=Record[Any])
else:
    RecordT = None

__all__ = ["BatchResult", "QuarantinedRecord", "StreamProcessor"]

#: Set by the Terraform module from the mapping's ``FunctionResponseTypes``: "true" or "false".
REPORT_BATCH_ITEM_FAILURES_ENV = "SHARDSAFE_REPORT_BATCH_ITEM_FAILURES"
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})
WINDOW_WITHOUT_HANDLER = (
    "the event source mapping has a tumbling window, but the processor has no window_handler: "
    "the state is returned as it came, so nothing aggregates; pass StreamProcessor(window_handler=...)"
)


class StreamProcessor(Generic[RecordT]):
    """Process Kinesis, DynamoDB Streams and SQS batches record by record, quarantining poison.

    :param record_handler: called with each :class:`~shardsafe.Record` that decoded and
        validated (``async def`` handlers, and coroutines a plain handler returns, are awaited with
        the tasks they start, until the deadline); its return value is kept as ``record.result``. It
        may change ``record.data`` and ``record.raw``: what is kept and retried is the record as
        Lambda delivered it (docs/handler.md, "What your code may do").
    :param batch_handler: called once per batch with the records the record handler accepted
        (all valid records if there is no record handler): per-batch mode, or an
        on-batch-complete hook (write the batch's output in one go). It fails by raising, never by
        returning failures (:mod:`shardsafe.core.stages.batch`). If it raises poison, the batch is
        bisected to find and quarantine the records it fails on; each retry and half gets the
        records as they were before its first call.
    :param window_handler: for a mapping with a tumbling window, ``(window, records) -> new state``:
        called with the window (its ``state``, ``start``, ``end``, ``is_final``) and the batch's processed
        records, also when there are none; the response carries what it returns as ``state``. On the
        window's final invocation it emits the result. See :mod:`shardsafe.core.window`.
    :param decode: ``"json"`` (an object; default), ``"text"``, ``"bytes"`` or a callable
        ``bytes -> value``. gzip and zlib payloads are inflated first, within ``decode_limits``.
        DynamoDB records are not decoded: ``data`` is the item, as Python values (see
        :class:`~shardsafe.DynamoDBRecord`).
    :param strict_json: reject what RFC 8259 forbids (NaN, Infinity, lone surrogates); default True.
    :param decode_limits: bounds on a record's inflated size and decoded structure; default from the
        function's memory (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``).
    :param validate: a check of the decoded data: a callable (fails by raising or returning False;
        what else it returns is ignored) or a mapping of field names to types (see
        :class:`~shardsafe.FieldSchema`).
    :param model: a pydantic model class: ``record.data`` is the validated instance; a record the model
        refuses is poison (``validation_error``, with pydantic's messages). JSON payloads are validated as
        JSON (``model_validate_json``). pydantic is imported only then (:mod:`shardsafe.core.stages.model`).
    :param convert: a callable ``data -> value``: ``record.data`` is what it returns; raising is poison
        (``validation_error``). Not with ``model`` (see :mod:`shardsafe.core.stages.validate` for why
        converting is asked for by name). ``validate`` checks what ``model`` or ``convert`` made.
    :param retryable: more exception types that mean "try again later".
    :param poison: exception types that are always poison, even if they look transient.
    :param transient: treat connection errors, timeouts, AWS throttling and 5xx as retryable
        (default True; see :mod:`shardsafe.core.transient` for the list).
    :param report_batch_item_failures: whether the event source mapping has
        ``ReportBatchItemFailures``; default ``SHARDSAFE_REPORT_BATCH_ITEM_FAILURES`` (which the
        Terraform module sets), else True. If not, retryable failures are retried in process.
    :param retry_attempts: in-process retries (without ReportBatchItemFailures), with backoff
        from ``retry_delay`` seconds (0 to 900), within the invocation's time.
    :param fifo_scope: for an SQS FIFO queue, what is handed back with a failed message:
        ``"batch"`` (every later message, AWS's rule; default) or ``"group"`` (the later messages
        of its message group).
    :param quarantine: where poison goes, any :class:`~shardsafe.QuarantineSink`; default the sink
        ``SHARDSAFE_QUARANTINE_SINK`` names (``sqs``: :class:`~shardsafe.SqsQuarantine` on
        ``SHARDSAFE_QUARANTINE_QUEUE_URL``; ``sns``: :class:`~shardsafe.SnsQuarantine`).
    :param deaggregate: read a KPL aggregated Kinesis record as its user records, each processed,
        quarantined or handed back on its own (:mod:`shardsafe.core.sources.kpl`); default True. False
        hands the aggregate to the pipeline as one record (its bytes, as they came).
    :param idempotency: act once on a record Lambda delivers more than once: an
        :class:`~shardsafe.Idempotency` (its key, its store); a record done before is skipped, one
        another invocation is working on is handed back. Default None: no store is called.
    :param sources: the sources read; default :data:`shardsafe.core.sources.SOURCES` (Kinesis,
        DynamoDB Streams, SQS). Add one of your own with ``sources=(*SOURCES, MySource())``.
    :param metrics: default :class:`~shardsafe.EmfMetrics`; ``False`` for none.
    :param tracing: None (default) traces sampled invocations in Lambda; False never.
    :param payload_preview: put a base64 preview of poison payloads in the log; default
        ``SHARDSAFE_PAYLOAD_PREVIEW`` (true unless "false").
    :param large_messages: read an SQS body that is an extended client's pointer from S3 before decoding
        it (default True; see :mod:`shardsafe.core.stages.pointers`); False hands the handler the pointer.
    """

    def __init__(
        self,
        record_handler: Callable[[RecordT], object] | None = None,
        *,
        batch_handler: Callable[[list[RecordT]], object] | None = None,
        window_handler: Callable[[TumblingWindow, list[RecordT]], object] | None = None,
        decode: str | Callable[[bytes], object] = "json",
        strict_json: bool = True,
        decode_limits: DecodeLimits | None = None,
        validate: Validator | Mapping[str, FieldType] | None = None,
        model: type | None = None,
        convert: Converter | None = None,
        retryable: Sequence[type[BaseException]] = (),
        poison: Sequence[type[BaseException]] = (),
        transient: bool = True,
        report_batch_item_failures: bool | None = None,
        retry_attempts: int = 2,
        retry_delay: float = 0.1,
        fifo_scope: str = "batch",
        quarantine: QuarantineSink | None = None,
        metrics: MetricsSink | bool | None = None,
        tracing: bool | None = None,
        payload_preview: bool | None = None,
        deaggregate: bool = True,
        large_messages: bool = True,
        sources: Iterable[Source] = SOURCES,
        idempotency: Idempotency | None = None,
    ) -> None:
        for name, handler in (
            ("record_handler", record_handler),
            ("batch_handler", batch_handler),
            ("window_handler", window_handler),
        ):
            if handler is not None and not callable(handler):
                raise ConfigurationError(f"{name} must be callable, got {type(handler).__name__}")
            if handler is not None and is_generator_callable(handler):
                raise ConfigurationError(
                    f"{name} {_name_of(handler)} is a generator function: calling it runs none of its body. "
                    "Remove the 'yield' (an 'async def' handler is awaited)"
                )
        for name, kinds in (("retryable", retryable), ("poison", poison)):
            for kind in kinds:
                if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                    raise ConfigurationError(f"{name} must list exception types, got {kind!r}")
        if fifo_scope not in FIFO_SCOPES:
            raise ConfigurationError(f"fifo_scope must be one of {list(FIFO_SCOPES)}, got {fifo_scope!r}")
        self._sources = by_name(sources)
        for name, source in self._sources.items():
            if not isinstance(source, Source):
                raise ConfigurationError(f"sources must be Source instances, got {source!r} for {name!r}")
        if report_batch_item_failures is None:
            report_batch_item_failures = _report_batch_item_failures_from_env()
        self._loop = EventLoop()
        self.record_handler = record_handler
        self.batch_handler = batch_handler
        self._handle = self._plain(record_handler)
        self._batch_handle = self._plain(batch_handler)
        self.window_handler = window_handler
        self._window_handle: Callable[[TumblingWindow, list[Any]], object] | None = window_handler
        if window_handler is not None:
            finish = self._loop.resolve  # an async window handler (or a returned awaitable) is awaited

            def window_handle(window: TumblingWindow, records: list[Any]) -> object:
                return finish(window_handler(window, records))

            self._window_handle = window_handle
        self._window_warned = False
        self.policy = Policy(
            retryable=tuple(retryable),
            poison=tuple(poison),
            transient=transient,
            report_batch_item_failures=report_batch_item_failures,
            retry_attempts=retry_attempts,
            retry_delay=retry_delay,
            fifo_scope=fifo_scope,
        )
        is_retryable = self.policy.is_retryable
        check = as_validator(validate)
        self._validate = validate_stage(check, is_retryable, as_converter(convert, model))
        json_model = model is not None and decode == "json"
        limits = default_limits() if decode_limits is None else decode_limits  # make_decoder checks its type
        # a decoder that calls out (a schema registry) may time out: that is not poison
        self._decode = make_decoder(decode, strict_json=strict_json, limits=limits, is_retryable=is_retryable)
        # JSON payloads and a model: one stage validates the JSON itself (stages/model.py), then the check.
        self._decode_model = self._check_only = None
        if json_model:
            from shardsafe.core.stages.model import json_model_decoder

            self._decode_model = json_model_decoder(
                model, self._decode, limits, strict_json=strict_json, is_retryable=is_retryable
            )
            self._check_only = validate_stage(check, is_retryable)
        self._resolve = None
        if large_messages:
            from shardsafe.core.stages.pointers import allowed_buckets, pointer_stage

            self._resolve = pointer_stage(limits, is_retryable, allowed_buckets())
        self.tracing = tracing
        self.payload_preview = payload_preview
        self.deaggregate = deaggregate
        self._attempts: dict[Source, Callable[[Any], Record]] = {}
        self._prepared: dict[Source, Callable[[Any], Record]] = {}
        self._idempotency: IdempotencyStage | None = None
        if idempotency is not None:
            self._idempotency = self._idempotency_stage(idempotency)
        self._quarantine = quarantine
        self._metrics: MetricsSink | None
        if metrics is None or metrics is True:
            from shardsafe.core.telemetry.metrics import EmfMetrics  # small, but only when used

            self._metrics = EmfMetrics()
        else:
            self._metrics = metrics or None

    @property
    def report_batch_item_failures(self) -> bool:
        return self.policy.report_batch_item_failures

    # --- entry points ---

    def __call__(self, event: object, context: object = None) -> BatchResponse:
        """The Lambda handler: ``lambda_handler = StreamProcessor(...)`` works as it is.

        Only the response leaves this call, so a record's decoded data is let go once the record
        handler returns instead of being held to the end of the batch. :meth:`process` keeps every
        processed record in ``BatchResult.processed``.
        """
        result = self._run(event, context, keep=False)
        if result.incomplete and self.report_batch_item_failures:  # see Invocation.not_kept
            raise BatchIncompleteError(
                "a record could be kept nowhere (not by the quarantine sink, S3 nor the log) and cannot be "
                "handed back (it has no item identifier): Lambda retries the batch rather than lose it"
            )
        if result.incomplete:
            handed_back = result.counts().handed_back
            raise BatchIncompleteError(
                f"{handed_back} of {result.received} records could not be handled in this invocation "
                "and the event source mapping does not report batch-item failures: Lambda retries the batch. "
                "Turn on ReportBatchItemFailures (the Terraform module's default) to retry only those records."
            )
        return result.response

    def process(self, event: object, context: object = None) -> BatchResult:
        """Process one event and say what happened to every record. Never raises."""
        return self._run(event, context, keep=True)

    def _run(self, event: object, context: object, *, keep: bool) -> BatchResult:
        started = time.perf_counter()
        observer = Observer(context, self.payload_preview)
        run: Invocation | None = None
        try:
            batch = read_event(event, self._sources)
            window = read_window(event) if type(event) is dict and "window" in event else None
            if isinstance(batch, str):
                observer.malformed_event(event, batch)
                result = BatchResult()
            else:
                if self.deaggregate:
                    batch = _expanded(batch)
                windowed = window is not None and self._window_handle is not None
                deadline = Deadline(context)
                self._loop.stop_at = deadline.stop_at  # an async handler still running then is cancelled
                run = Invocation(
                    self.policy,
                    observer,
                    deadline,
                    batch,
                    keep=keep,
                    collect=self._batch_handle is not None or windowed,
                )
                result = run.result
                result.aggregated_records, result.user_records = batch.aggregated_records, batch.user_records
                if window is not None:  # without a state in the response, Lambda fails the invocation
                    result.response_extras["state"] = window.state
                self._process(run, batch, context, window)
        except Exception as error:  # a bug in shardsafe: log it, and lose nothing
            result = self._internal_error(run, error)
        result.duration_ms = (time.perf_counter() - started) * 1000.0
        try:
            observer.finish(result, self._metrics)
        except Exception as error:  # the summary is for operators; the records are already accounted for
            logs.emit(logs.WARNING, logs.WARNED, {"message": "batch summary failed", "error": repr(error)})
        return result

    def _process(
        self, run: Invocation, batch: Batch, context: object, window: TumblingWindow | None = None
    ) -> None:
        run.observer.begin(self.tracing)
        claims = self._idempotency.begin(run, context) if self._idempotency is not None else None
        try:
            run.run_records(self._attempt_for, batch.source)
            if window is not None and self._window_handle is not None:
                run_window(
                    run, window, self._window_handle, self._batch_handle, self.policy, self._batch_options()
                )
            else:
                if window is not None and not self._window_warned:
                    self._window_warned = True
                    logs.emit(logs.WARNING, logs.WARNED, {"message": WINDOW_WITHOUT_HANDLER})
                if self._batch_handle is not None and run.collected:
                    finish, prepare_for, snapshot = self._batch_options()
                    run.run_batch_handler(self._batch_handle, finish, prepare_for, snapshot=snapshot)
        finally:
            if claims is not None:
                claims.end()
        run.flush(self._sink)

    def _internal_error(self, run: Invocation | None, error: Exception) -> BatchResult:
        """Quarantine (or at least log) every record not yet settled, and flush what was quarantined."""
        if run is None:
            return BatchResult()
        observer = run.observer
        observer.internal_error(error)
        try:
            run.settle_pending_after_error(error)
            run.flush(self._sink)
        except Exception as second:
            unflushed = set(run.unflushed)
            for index, raw in enumerate(run.records):
                kept = run.cells[index] is not None and index not in unflushed
                if not kept and not observer.lost(raw, f"internal error: {error!r}, then {second!r}"):
                    run.result.incomplete = True  # kept nowhere: the Lambda entry fails, Lambda retries
        return run.result

    # --- set-up helpers ---

    def _stages_for(
        self, source: Source
    ) -> tuple[Callable[[bytes], Any] | None, Callable[[Any], Any] | None]:
        """The decode and validate stages for ``source``'s records: with a model, one stage validates the JSON."""
        if self._decode_model is not None and source.decodes:
            return self._decode_model, self._check_only
        return self._decode, self._validate

    def _attempt_for(self, source: Source) -> Callable[[Any], Record]:
        attempt = self._attempts.get(source)
        if attempt is None:
            decode, validate = self._stages_for(source)
            attempt = self._attempts[source] = build_attempt(
                source, decode, validate, self._handle, self._resolve, self._loop.resolve
            )
        return attempt

    def _prepare_for(self, source: Source) -> Callable[[Any], Record]:
        """The pipeline without the record handler: a record built afresh from what Lambda delivered."""
        prepare = self._prepared.get(source)
        if prepare is None:
            decode, validate = self._stages_for(source)
            prepare = self._prepared[source] = build_attempt(source, decode, validate, None, self._resolve)
        return prepare

    def _batch_options(
        self,
    ) -> tuple[Callable[[Any], Any], Callable[[Source], Callable[[Any], Record]], bool]:
        """How the run loop calls a batch (or window) handler: its results finished, its records rebuilt
        from what Lambda delivered for each retry and half, a snapshot kept when a record handler ran."""
        return self._loop.resolve, self._prepare_for, self._handle is not None

    def _idempotency_stage(self, idempotency: Idempotency) -> IdempotencyStage:
        """The idempotency layer, and the handlers that complete a record's key once it is handled."""
        from shardsafe.core.idempotency import Idempotency
        from shardsafe.core.idempotency.stage import IdempotencyStage

        if not isinstance(idempotency, Idempotency):
            raise ConfigurationError(
                f"idempotency must be an Idempotency(...), got {type(idempotency).__name__}"
            )
        if self.window_handler is not None:
            raise ConfigurationError(
                "idempotency cannot go with a window_handler: Lambda retries a tumbling window's batch with "
                "the state from before it, so a record skipped as done would be missing from the retried "
                "state. Keep the window's state idempotent by itself (it is recomputed on retry), or drop "
                "window_handler"
            )
        stage = IdempotencyStage(
            idempotency,
            self.policy,
            self._prepare_for,
            self._loop.resolve,
            batch_handler=self._batch_handle is not None,
        )
        self._handle = stage.record_handler(self._handle)
        if self._batch_handle is not None:
            self._batch_handle = stage.batch_handler(self._batch_handle)
        return stage

    def _plain(self, handler: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
        """The handler as a plain callable: an ``async def`` one runs on the processor's event loop."""
        if handler is not None and is_async_callable(handler):
            return self._loop.wrap(handler)
        return handler

    def _sink(self) -> QuarantineSink:
        if self._quarantine is None:
            from shardsafe.core.quarantine import sink_from_environment  # only once there is poison

            self._quarantine = sink_from_environment()
        return self._quarantine


def _expanded(batch: Batch) -> Batch:
    """The expand stage: each KPL aggregate of the batch replaced by its user records."""
    try:
        return kpl.expand(batch)
    except Exception as error:  # a bug in shardsafe: the records go on as they came, none is lost
        logs.emit(
            logs.ERROR,
            logs.INTERNAL_ERROR,
            {
                "message": "KPL de-aggregation failed: the batch is read without it",
                "error_type": type(error).__name__,
                "error_message": repr(error),
            },
        )
        return batch


def _report_batch_item_failures_from_env() -> bool:
    value = os.environ.get(REPORT_BATCH_ITEM_FAILURES_ENV)
    if value is None or not value.strip():
        return True
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(
        f"{REPORT_BATCH_ITEM_FAILURES_ENV}={value!r} is neither true nor false: set it to the event source "
        "mapping's ReportBatchItemFailures setting (the Terraform module does)"
    )


def _name_of(function: object) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__
