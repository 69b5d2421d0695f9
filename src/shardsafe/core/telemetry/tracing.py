"""X-Ray tracing: one ``shardsafe.batch`` subsegment per batch, annotated with the batch's counts.

Tracing is on only inside Lambda (``LAMBDA_TASK_ROOT``) for an invocation the X-Ray header marks
sampled (``_X_AMZN_TRACE_ID`` with ``Sampled=1``), unless turned off with ``tracing=False`` or
``AWS_XRAY_SDK_ENABLED=false``. aws-xray-sdk is imported on the first traced batch, never at
import time, so a cold start without tracing does not pay for it. A tracing failure is logged
once and never affects the batch.
"""

from __future__ import annotations

import os

from shardsafe.core.telemetry import logs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SUBSEGMENT_NAME = "shardsafe.batch"
_recorder: Any = None
_broken = False


def tracing_active(enabled: bool | None) -> bool:
    """Whether this invocation is traced: ``enabled`` (None: automatic) and a sampled Lambda trace."""
    if enabled is False or _broken:
        return False
    if os.environ.get("AWS_XRAY_SDK_ENABLED", "true").lower() == "false":
        return False
    if not os.environ.get("LAMBDA_TASK_ROOT"):
        return False
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")


def begin_batch() -> Any:
    """Open the batch subsegment; returns it, or None if tracing could not start."""
    global _recorder  # noqa: PLW0603 - the SDK's recorder is process-wide
    try:
        if _recorder is None:
            from aws_xray_sdk.core import xray_recorder  # type: ignore[import-untyped]  # lazy: cold start

            _recorder = xray_recorder
        return _recorder.begin_subsegment(SUBSEGMENT_NAME)
    except Exception as error:
        _disable(error)
        return None


def end_batch(subsegment: Any, annotations: dict[str, str | int | float | bool]) -> None:
    """Annotate and close the subsegment opened by :func:`begin_batch`."""
    if subsegment is None:
        return
    try:
        for key, value in annotations.items():
            subsegment.put_annotation(key, value)
        _recorder.end_subsegment()
    except Exception as error:
        _disable(error)


def _disable(error: Exception) -> None:
    global _broken  # noqa: PLW0603 - one warning, then no more attempts in this process
    _broken = True
    logs.emit(
        logs.WARNING,
        logs.WARNED,
        {
            "message": "X-Ray tracing disabled after an error",
            "error_type": type(error).__name__,
            "error": repr(error),
        },
    )
