"""Timestamps at each hop of an invocation, for finding where a warm invocation's time goes.

Off unless ``SHARDSAFE_LOCALSTACK_TRACE`` names a file in LocalStack's environment: then LocalStack
(patched here, in memory) and the process runtime (runtime/bootstrap.py, which gets the path as
``_SHARDSAFE_TRACE_FILE``) append one JSON line per hop, ``{"id": request id, "hop": name, "t":
epoch seconds}``, to that file. ``latency.breakdown(path)`` turns the lines into the median time
between consecutive hops. Appends of one short line with O_APPEND are atomic, so the processes
share the file without a lock.

Hops, in order (runtime hops are written by bootstrap.py): ``service.invoke`` (LambdaService.invoke
entered, after the gateway parsed the request), ``version.invoke`` (LambdaVersionManager.invoke),
``executor.invoke`` (our executor's invoke), ``runtime.invoke`` (the runtime got ``POST /invoke``),
``runtime.invoke_acked`` (LocalStack got the answer to that POST), ``runtime.started`` (the invoke
thread has the environment), ``runtime.sent`` (the invocation is written to the worker),
``runtime.result`` (the worker's result is read), ``runtime.output`` (its output is taken),
``endpoint.logs`` (LocalStack got the logs POST), ``runtime.logs_posted``, ``endpoint.response``
(LocalStack got the result POST), ``runtime.response_posted``, ``executor.returned``,
``version.returned`` and ``service.returned``.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any

TRACE_ENV = "SHARDSAFE_LOCALSTACK_TRACE"
# The hops of one invocation in the order they happen (the client's own two around them).
HOPS = (
    "client.sent",
    "service.invoke",
    "version.invoke",
    "executor.invoke",
    "runtime.invoke",
    "runtime.started",
    "runtime.sent",
    "runtime.result",
    "runtime.output",
    "endpoint.logs",
    "endpoint.response",
    "executor.returned",
    "version.returned",
    "service.returned",
    "client.received",
)
RUNTIME_TRACE_ENV = "_SHARDSAFE_TRACE_FILE"


def trace_file() -> str:
    """The trace file named by SHARDSAFE_LOCALSTACK_TRACE, or "" when tracing is off."""
    return os.environ.get(TRACE_ENV, "").strip()


def stamp(request_id: str, hop: str, path: str | None = None) -> None:
    """Append one hop of ``request_id`` to the trace file (nothing when tracing is off)."""
    path = trace_file() if path is None else path
    if not path or not request_id:
        return
    line = json.dumps({"id": request_id, "hop": hop, "t": time.time()}).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _request_id_of(kwargs: dict[str, Any]) -> str:
    invocation = kwargs.get("invocation")
    if invocation is not None:
        return str(invocation.request_id)
    payload = kwargs.get("payload")
    if isinstance(payload, dict):
        return str(payload.get("invoke-id", ""))
    return str(kwargs.get("request_id", ""))


def _traced(entered: str, returned: str) -> Callable[..., Any]:
    def wrapper(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        request_id = _request_id_of(kwargs)
        stamp(request_id, entered)
        try:
            return original(self, *args, **kwargs)
        finally:
            stamp(request_id, returned)

    return wrapper


def _endpoint_hop(hop: str) -> Callable[..., Any]:
    def wrapper(original: Callable[..., Any], self: Any, request: Any, req_id: str) -> Any:
        stamp(req_id, hop)
        return original(self, request, req_id)

    return wrapper


def _perform_invoke(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return original(*args, **kwargs)
    finally:
        stamp(str(kwargs.get("payload", {}).get("invoke-id", "")), "runtime.invoke_acked")


_applied: list[Any] = []


def apply() -> None:
    """Patch the invocation path to stamp each hop, if SHARDSAFE_LOCALSTACK_TRACE is set; idempotent."""
    if _applied or not trace_file():
        return
    from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
    from localstack.services.lambda_.invocation.lambda_service import LambdaService
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager
    from localstack.utils.patch import Patch

    from shardsafe_localstack.executor import ProcessExecutorEndpoint, ProcessRuntimeExecutor

    patches = [
        Patch.function(LambdaService.invoke, _traced("service.invoke", "service.returned")),
        Patch.function(LambdaVersionManager.invoke, _traced("version.invoke", "version.returned")),
        Patch.function(ProcessRuntimeExecutor.invoke, _traced("executor.invoke", "executor.returned")),
        Patch.function(ExecutorEndpoint.invocation_logs, _endpoint_hop("endpoint.logs")),
        Patch.function(ExecutorEndpoint.invocation_response, _endpoint_hop("endpoint.response")),
        Patch.function(ExecutorEndpoint.invocation_error, _endpoint_hop("endpoint.response")),
        # A static method: Patch.function would bind it, so it is wrapped by hand.
        Patch(
            ProcessExecutorEndpoint,
            "_perform_invoke",
            staticmethod(functools.partial(_perform_invoke, ProcessExecutorEndpoint._perform_invoke)),
        ),
    ]
    for patch in patches:
        patch.apply()
    _applied.extend(patches)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
