"""Structured log lines: one JSON object per line, with stable keys an operator can search.

Lines go through the ``shardsafe`` logger. Unless the application attached its own handlers to
it, the logger writes bare JSON lines to stdout at INFO and above and does not propagate: in
Lambda the root logger would add a prefix (and drop INFO), and CloudWatch Logs Insights indexes
the keys of a line that is pure JSON.

Every line has ``level``, ``event`` (``shardsafe.poison``, ``shardsafe.batch``, ...) and
``timestamp``; the keys of each event are listed beside the function that writes it.
"""

from __future__ import annotations

import json
import logging
import sys
import time

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

logger = logging.getLogger("shardsafe")
metrics_logger = logging.getLogger("shardsafe.metrics")

POISON = "shardsafe.poison"
RETRYABLE = "shardsafe.retryable"
BATCH = "shardsafe.batch"
QUARANTINE_FALLBACK = "shardsafe.quarantine_fallback"
MALFORMED_EVENT = "shardsafe.malformed_event"
INTERNAL_ERROR = "shardsafe.internal_error"
WARNING = "shardsafe.warning"

_configured = False


class _JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def _configure() -> None:
    global _configured  # noqa: PLW0603 - configured once per process, on first use
    _configured = True
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_JsonLineFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def emit(level: int, event: str, fields: dict[str, Any]) -> None:
    """Write one JSON line; never raises (a field JSON cannot encode is written as its repr)."""
    if not _configured:
        _configure()
    if not logger.isEnabledFor(level):
        return
    line = {"level": logging.getLevelName(level), "event": event, "timestamp": _now(), **fields}
    try:
        text = json.dumps(line, ensure_ascii=False, default=repr, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        text = json.dumps({k: repr(v) for k, v in line.items()}, separators=(",", ":"))
    logger.log(level, "%s", text)


def emit_document(document: dict[str, Any]) -> None:
    """Write a JSON document as it is (an EMF metrics line), through the ``shardsafe.metrics`` logger."""
    if not _configured:
        _configure()
    try:
        text = json.dumps(document, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return
    metrics_logger.info("%s", text)


def _now() -> str:
    seconds = time.time()
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((seconds - whole) * 1000):03d}Z"
