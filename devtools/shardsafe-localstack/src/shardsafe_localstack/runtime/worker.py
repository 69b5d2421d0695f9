"""The language runtime of a process execution environment: imports the handler and runs it (stdlib only).

Started by bootstrap.py with ``-S -s`` so that no site-packages of the interpreter are visible:
``sys.path`` is the function's code, its layers, then the runtime-provided SDK (boto3/botocore),
in the order AWS's Python runtime uses. Commands arrive as JSON lines on one pipe; results leave
on another; stdout and stderr are the function's log.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import threading
import time
import traceback
from typing import Any

MARKER_PREFIX = "\x1eshardsafe-end:"


class LambdaContext:
    """The ``context`` argument, with the attributes AWS's Python runtime provides."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_epoch_ms: int) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_epoch_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name}])"


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


REQUEST_ID = _RequestIdFilter()


def _configure_logging() -> None:
    """The root logger as AWS's Python runtime sets it up: tab-separated, with the request id."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(REQUEST_ID)
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack or []}


def _exception_body(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    stack = traceback.format_list(frames[1:] if len(frames) > 1 else frames)
    return _error(type(exc).__name__, str(exc), stack)


def load_handler() -> Any:
    """Import the handler named by _HANDLER, raising an AWS-shaped error body on failure."""
    name = os.environ.get("_HANDLER", "")
    try:
        module_path, function_name = name.rsplit(".", 1)
    except ValueError:
        raise InitError(
            _error(
                "Runtime.MalformedHandlerName",
                f"Bad handler '{name}': not enough values to unpack (expected 2, got 1)",
            )
        ) from None
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise InitError(
            _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from exc
    except ImportError as exc:
        raise InitError(
            _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    except Exception as exc:
        body = _exception_body(exc)
        body["errorType"] = "Runtime.ImportModuleError"
        body["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        raise InitError(body) from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitError(
            _error("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
        )
    return handler


class InitError(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["errorMessage"])
        self.body = body


def _set_sys_path() -> None:
    extra = [p for p in os.environ.pop("_SHARDSAFE_SYS_PATH", "").split(os.pathsep) if p]
    runtime = [p for p in os.environ.pop("_SHARDSAFE_RUNTIME_PATH", "").split(os.pathsep) if p]
    sys.path[:0] = extra
    sys.path.extend(runtime)
    # AWS's runtime puts the task root first; the interpreter added this script's folder instead.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p != here]


def _exit_with_parent() -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def main() -> None:
    commands = os.fdopen(int(os.environ.pop("_SHARDSAFE_CMD_FD")), "rb")
    results = os.fdopen(int(os.environ.pop("_SHARDSAFE_RES_FD")), "wb", buffering=0)

    def send(message: dict[str, Any]) -> None:
        results.write(json.dumps(message).encode() + b"\n")

    def end_of_output(tag: str) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, f"{MARKER_PREFIX}{tag}\n".encode())

    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _set_sys_path()
    _configure_logging()
    try:
        handler = load_handler()
    except InitError as init_error:
        print(f"[ERROR] {init_error.body['errorType']}: {init_error.body['errorMessage']}", file=sys.stderr)
        end_of_output("init")
        send({"type": "init_error", "error": init_error.body})
        return
    end_of_output("init")
    send({"type": "ready"})

    for line in commands:
        command = json.loads(line)
        request_id = command["requestId"]
        REQUEST_ID.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = command.get("traceId", "")
        context = LambdaContext(request_id, command["invokedFunctionArn"], command["deadlineEpochMs"])
        kind = "response"
        try:
            event = json.loads(command["payload"] or "null")
            result = handler(event, context)
            try:
                body = json.dumps(result)
            except (TypeError, ValueError) as exc:
                kind, body = (
                    "error",
                    json.dumps(_error("Runtime.MarshalError", f"Unable to marshal response: {exc}")),
                )
        except Exception as exc:  # every handler error is reported, as AWS does
            kind = "error"
            failure = _exception_body(exc)
            failure["requestId"] = request_id
            body = json.dumps(failure)
            trace = "".join(traceback.format_exception(exc))
            print(
                f"[ERROR] {failure['errorType']}: {failure['errorMessage']}\n{trace}", end="", file=sys.stdout
            )
        end_of_output(request_id)
        send({"type": kind, "body": body, "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


if __name__ == "__main__":
    main()
