"""Structured log lines: one JSON object per line, with stable keys an operator can search.

Lines go through the ``shardsafe.events`` logger (EMF metrics through ``shardsafe.metrics``). Unless
the application attached its own handlers to them, they write bare JSON lines to stdout at INFO
and above and do not propagate: in Lambda the root logger would add a prefix (and drop INFO), and
CloudWatch Logs Insights indexes the keys of a line that is pure JSON.

Every line has ``level``, ``event`` (``shardsafe.poison``, ``shardsafe.batch``, ...) and
``timestamp``; the keys of each event are listed beside the function that writes it.
"""

from __future__ import annotations

import json
import sys
import time

from shardsafe import jsontext

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence
    from typing import Any

# The logging levels, so that callers need not import logging (about 10 ms) before the first line.
INFO = 20
WARNING = 30
ERROR = 40
_LEVEL_NAMES = {INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}

POISON = "shardsafe.poison"
RETRYABLE = "shardsafe.retryable"
BATCH = "shardsafe.batch"
QUARANTINE_FALLBACK = "shardsafe.quarantine_fallback"
MALFORMED_EVENT = "shardsafe.malformed_event"
INTERNAL_ERROR = "shardsafe.internal_error"
WARNED = "shardsafe.warning"

EVENTS_LOGGER = "shardsafe.events"
METRICS_LOGGER = "shardsafe.metrics"

_logger: logging.Logger | None = None
_metrics_logger: logging.Logger | None = None
_stdout_handler: logging.Handler | None = None  # the handler shardsafe attaches, once configured

# json.dumps(value, ensure_ascii=False, default=repr, separators=(",", ":")) without a new encoder per line:
# how a field's value is written.
encode_field = jsontext.encoder(default=repr)


def _configure() -> logging.Logger:
    """The events logger; both shardsafe loggers get a bare-JSON stdout handler unless the application set one."""
    global _logger, _metrics_logger, _stdout_handler  # noqa: PLW0603 - configured once per process, on first use
    import logging  # lazy: Lambda's runtime has it loaded already; elsewhere it waits for the first line

    class StdoutJsonLines(logging.Handler):
        """The message as it is, one line, on whatever ``sys.stdout`` is now (test runners swap it)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                stream = sys.stdout
                stream.write(record.getMessage() + "\n")
                stream.flush()
            except Exception:
                self.handleError(record)

    handler = StdoutJsonLines()
    for name in (EVENTS_LOGGER, METRICS_LOGGER):
        configured = logging.getLogger(name)
        if not configured.handlers:
            configured.addHandler(handler)
            if configured.level == logging.NOTSET:
                configured.setLevel(logging.INFO)
            configured.propagate = False
    logger = logging.getLogger(EVENTS_LOGGER)
    _metrics_logger = logging.getLogger(METRICS_LOGGER)
    _stdout_handler = handler
    _logger = logger
    return logger


def enabled(level: int) -> bool:
    """Whether a line at ``level`` would be written: check before building an expensive one."""
    return (_logger or _configure()).isEnabledFor(level)


def emit(level: int, event: str, fields: dict[str, Any]) -> None:
    """Write one JSON line; never raises (a field JSON cannot encode is written as its repr).

    The line is ``level``, ``event`` and ``timestamp``, then ``fields`` in their order; fields
    must not use those three keys.
    """
    logger = _logger or _configure()
    if logger.isEnabledFor(level):
        _write(logger, level, event, (encode_members(fields),))


def emit_members(level: int, event: str, lines: Sequence[str], timestamp: str | None = None) -> None:
    """Write one line per item of ``lines``, each the JSON members of its fields (``"a":1,"b":"x"``).

    The lines are what :func:`emit` would write for each, with one ``timestamp`` (an
    :func:`iso_utc`, now by default), and through shardsafe's own handler in one write.
    """
    logger = _logger or _configure()
    if lines and logger.isEnabledFor(level):
        _write(logger, level, event, lines, timestamp)


def encode_members(fields: dict[str, Any]) -> str:
    """``fields`` as the members of a JSON object, as a line has them; never raises."""
    try:
        return encode_field(fields)[1:-1]
    except (TypeError, ValueError, RecursionError):
        return encode_field({str(key): repr(value) for key, value in fields.items()})[1:-1]


def _write(
    logger: logging.Logger, level: int, event: str, lines: Sequence[str], timestamp: str | None = None
) -> None:
    name = _LEVEL_NAMES.get(level) or str(level)
    head = f'{{"level":"{name}","event":{jsontext.string(event)},"timestamp":"{timestamp or iso_utc()}"'
    escape, not_utf8 = jsontext.escape, jsontext.NOT_UTF8
    # a lone surrogate (from a record or an exception) would make the write to stdout fail: escape it
    texts = [escape(f"{head},{members}}}" if members else f"{head}}}", not_utf8) for members in lines]
    handler = _stdout_handler
    handlers = logger.handlers
    if (
        len(handlers) == 1
        and handlers[0] is handler
        and handler is not None
        and not (logger.filters or handler.filters or logger.propagate or logger.disabled)
        and handler.level <= level
    ):
        # Only shardsafe's own handler would see the lines: write them as that handler does, without
        # a LogRecord each (a stack walk, thread and process lookups) that nothing would read.
        with handler.lock:  # type: ignore[union-attr]  # created with the handler
            try:
                stream = sys.stdout
                stream.write("\n".join(texts) + "\n")
                stream.flush()
            except Exception:
                for text in texts:
                    handler.handleError(
                        logger.makeRecord(logger.name, level, __file__, 0, "%s", (text,), None)
                    )
        return
    for text in texts:
        logger.log(level, "%s", text)


def emit_document(document: dict[str, Any]) -> None:
    """Write a JSON document as it is (an EMF metrics line), through the ``shardsafe.metrics`` logger."""
    if _metrics_logger is None:
        _configure()
    assert _metrics_logger is not None
    try:
        text = json.dumps(document, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return
    _metrics_logger.info("%s", text)


def iso_utc(seconds: float | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a Z (``2024-01-01T00:00:00.123Z``): every shardsafe timestamp."""
    millis = round((time.time() if seconds is None else seconds) * 1000)
    whole, fraction = divmod(millis, 1000)
    prefix = _second_prefixes.get(whole)
    if prefix is None:
        if len(_second_prefixes) >= 256:
            _second_prefixes.clear()
        prefix = _second_prefixes[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{prefix}.{fraction:03d}Z"


# Whole seconds already formatted: a batch's lines and envelopes share a few of them.
_second_prefixes: dict[int, str] = {}
