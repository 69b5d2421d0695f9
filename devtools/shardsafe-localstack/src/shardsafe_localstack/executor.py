"""A LocalStack Lambda runtime executor that runs each execution environment as local processes.

LocalStack's own executor starts Docker containers; this one starts ``runtime/bootstrap.py`` with
the function's runtime interpreter (python3.12 or python3.13 found on the host). The function sees
its code, its layers and a runtime-provided boto3/botocore, not LocalStack's virtual environment,
so a dependency missing from the zip fails here as it would on AWS. The runtime holds the function
to its memory size (runtime/bootstrap.py) unless SHARDSAFE_LOCALSTACK_MEMORY_LIMIT=0.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import importlib.util
import json
import logging
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import CancelledError
from pathlib import Path

from localstack import config
from localstack.http import Response
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor
from werkzeug import Request

from shardsafe.ops.packaging import RUNTIME_PROVIDED
from shardsafe_localstack.pythons import PythonNotFound, find_python
from shardsafe_localstack.switches import switch
from shardsafe_localstack.trace import RUNTIME_TRACE_ENV, trace_file

LOG = logging.getLogger(__name__)

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
BOOTSTRAP = RUNTIME_DIR / "bootstrap.py"
STOP_DEADLINE_S = 3.0
MEMORY_LIMIT_ENV = "SHARDSAFE_LOCALSTACK_MEMORY_LIMIT"
FAST_INVOKE_ENV = "SHARDSAFE_LOCALSTACK_FAST_INVOKE"
REPLY_KEY = "shardsafe-reply"  # runtime/bootstrap.py's REPLY_KEY: answer POST /invoke with the outcome
# As stock LocalStack: 1 try and 5 retries on a refused connection, and no invocation waited on
# longer than Lambda's 900 s maximum timeout plus 5 s.
INVOKE_ATTEMPTS = 6
INVOKE_WAIT_S = 905.0


class ProcessExecutorEndpoint(ExecutorEndpoint):
    """LocalStack's endpoint for one runtime, which learns the runtime's HTTP port from its ready announcement.

    With the fast reply on (FAST_INVOKE_ENV, the default), ``invoke`` posts the invocation over one
    kept-alive connection and the runtime answers that request with the result and the logs once
    the invocation ends. Stock LocalStack (the switch off) posts with a new connection each time, the
    runtime acknowledges at once, then posts the logs and the result back through LocalStack's
    gateway to this endpoint, which hands them to the waiting invoke through a future: three HTTP
    requests, two of them through the gateway's handler chain, instead of one (about 8 ms of a
    warm invocation; see latency.py). Logs still reach CloudWatch the same way: LocalStack's version
    manager ships the InvocationResult's logs.
    """

    def __init__(self, executor_id: str, container_address: str, container_port: int | None) -> None:
        super().__init__(executor_id, container_address=container_address, container_port=container_port)
        self._connection: http.client.HTTPConnection | None = None
        self._shut_down = False

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if not switch(FAST_INVOKE_ENV):
            return super().invoke(payload)
        body = json.dumps(dict(payload, **{REPLY_KEY: True})).encode()
        status, reply = self._post_invoke(body)
        if status != 200:
            raise InvokeSendError(
                f"The runtime {self.executor_id} answered invocation {payload.get('invoke-id')} "
                f"with HTTP {status}: {reply[:500]!r}"
            )
        outcome = json.loads(reply)
        return InvocationResult(
            outcome["request_id"],
            outcome["body"].encode(),
            is_error=outcome["kind"] == "error",
            logs=outcome["logs"],
        )

    def _post_invoke(self, body: bytes) -> tuple[int, bytes]:
        """POST /invoke on the kept connection; a closed one is replaced at once, a refused one backed off."""
        delay = 0.1
        for attempt in range(INVOKE_ATTEMPTS):
            reused = self._connection is not None
            try:
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(
                        self.container_address, self.container_port, timeout=INVOKE_WAIT_S
                    )
                self._connection.request(
                    "POST", "/invoke", body=body, headers={"Content-Type": "application/json"}
                )
                with self._connection.getresponse() as response:
                    return response.status, response.read()
            except (OSError, http.client.HTTPException) as error:
                self._close()
                if self._shut_down:
                    raise CancelledError(
                        f"execution environment {self.executor_id} shut down during an invoke"
                    ) from error
                if attempt == INVOKE_ATTEMPTS - 1:
                    raise
                if not reused:
                    time.sleep(delay)
                    delay = min(1.0, delay * 2)
        raise AssertionError("unreachable")

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stopping(self) -> None:
        """The runtime is about to be stopped: an invoke it breaks ends at once, as stock's cancelled future does."""
        self._shut_down = True

    def shutdown(self) -> None:
        self._shut_down = True
        self._close()
        super().shutdown()

    def status_ready(self, request: Request, executor_id: str) -> Response:
        try:
            self.container_port = int(json.loads(request.data)["port"])
        except (ValueError, KeyError, TypeError):
            LOG.warning("Runtime %s announced itself without a port: %r", executor_id, request.data)
        return super().status_ready(request, executor_id)


class RuntimeNotSupported(Exception):
    pass


@functools.cache
def interpreter_for(runtime: str) -> str:
    """The host interpreter for a ``python3.x`` runtime, or RuntimeNotSupported saying what to install."""
    if not runtime.startswith("python3."):
        raise RuntimeNotSupported(
            f"Runtime {runtime!r} is not supported by the process executor, which runs python3.x functions "
            "only. Use a python3.12 or python3.13 runtime, or a LocalStack with Docker for other runtimes."
        )
    variable = f"SHARDSAFE_{runtime.upper().replace('.', '_')}"
    try:
        return find_python((runtime.removeprefix("python"),), override=os.environ.get(variable) or None)
    except PythonNotFound as error:
        raise RuntimeNotSupported(
            f"Runtime {runtime!r}: {error}, or set {variable}=/path/to/{runtime}."
        ) from error


@functools.cache
def runtime_sdk_dir() -> Path:
    """A folder holding the SDK AWS's runtime provides (boto3, botocore, ...), linked from LocalStack's environment."""
    target = Path(config.dirs.tmp) / "shardsafe-runtime-sdk"
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PROVIDED.values():
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin).parent if spec.submodule_search_locations else Path(spec.origin)
        link = target / source.name
        if not link.exists():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(source)
    return target


def _layer_paths(function_version: FunctionVersion, python_version: str) -> list[str]:
    paths: list[str] = []
    for layer in function_version.config.layers or []:
        if layer.code is None:
            continue
        root = Path(layer.code.get_unzipped_code_location())
        paths += [
            str(root / "python" / "lib" / f"python{python_version}" / "site-packages"),
            str(root / "python"),
        ]
    return paths


class ProcessRuntimeExecutor(RuntimeExecutor):
    """One Lambda execution environment as a local process group (an init and a language worker)."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ProcessExecutorEndpoint(
            self.id, container_address="127.0.0.1", container_port=None
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(config.dirs.tmp) / "shardsafe-runtime-logs" / f"{self.id}.log"

    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        runtime = self.function_version.config.runtime or ""
        try:
            interpreter = interpreter_for(runtime)
        except RuntimeNotSupported as error:
            body = {"errorType": "Runtime.InvalidRuntime", "errorMessage": str(error)}
            raise StatusErrorException(str(error), payload=json.dumps(body).encode()) from error

        code = self.function_version.config.code
        if code is None:
            body = {"errorType": "Runtime.InvalidEntrypoint", "errorMessage": "Only zip functions run here."}
            raise StatusErrorException("no code", payload=json.dumps(body).encode())
        code_dir = str(code.get_unzipped_code_location())
        python_version = runtime.removeprefix("python")
        env = {key: str(value) for key, value in env_vars.items()}
        env.update(
            {
                "LAMBDA_TASK_ROOT": code_dir,
                "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "LANG": "en_US.UTF-8",
                "PYTHONDONTWRITEBYTECODE": "1",
                RUNTIME_TRACE_ENV: trace_file(),
                "_SHARDSAFE_SYS_PATH": os.pathsep.join(
                    [code_dir, *_layer_paths(self.function_version, python_version)]
                ),
                "_SHARDSAFE_RUNTIME_PATH": str(runtime_sdk_dir()),
                # 0: no limit (the switch is off).
                "_SHARDSAFE_MEMORY_LIMIT_MB": str(
                    self.function_version.config.memory_size if switch(MEMORY_LIMIT_ENV) else 0
                ),
            }
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [interpreter, "-S", "-s", "-u", str(BOOTSTRAP)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=code_dir,
            )
        threading.Thread(target=self._watch_startup, name=f"lambda-process-{self.id}", daemon=True).start()
        self.executor_endpoint.wait_for_startup()

    def _watch_startup(self) -> None:
        """Fail the startup at once (not after LocalStack's timeout) if the init dies before announcing itself."""
        assert self.process is not None
        code = self.process.wait()
        future = self.executor_endpoint.startup_future
        if future is not None and not future.done():
            body = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Runtime exited during init with exit status {code}: {self.get_logs()[-2000:]}",
            }
            future.set_exception(
                StatusErrorException("Environment startup failed", payload=json.dumps(body).encode())
            )

    def stop(self) -> None:
        self.executor_endpoint.stopping()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            self.executor_endpoint.shutdown()
        except Exception as error:  # already unregistered: nothing left to do
            LOG.debug("Error while stopping executor endpoint %s: %s", self.id, error)
        self.log_path.unlink(missing_ok=True)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers or []:
            if layer.code is not None:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """LocalStack owns the unzipped code; nothing of ours outlives a version."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    def __repr__(self) -> str:
        return f"ProcessRuntimeExecutor({self.id!r}, {self.function_version.qualified_arn!r})"
