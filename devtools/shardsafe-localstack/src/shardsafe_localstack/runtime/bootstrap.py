"""The init of one Lambda execution environment run as local processes (stdlib only).

LocalStack's process executor starts this file with the function's runtime interpreter. It plays
the part of AWS's init (RAPID) and speaks LocalStack's runtime protocol:

- it starts a worker process (worker.py) that imports the handler, then announces itself with
  ``POST {LOCALSTACK_RUNTIME_ENDPOINT}/status/{LOCALSTACK_RUNTIME_ID}/ready`` (its HTTP port in
  the body) or ``/error`` with a Lambda error body when the handler cannot be imported;
- ``POST /invoke`` is answered at once; the handler runs in the worker, then the captured output
  goes to ``/invocations/{id}/logs`` and the result to ``/invocations/{id}/response`` or ``/error``
  (one kept-alive connection, RuntimeApi); an invocation the executor marks with REPLY_KEY is
  answered instead with its outcome (result and logs) once it ends, which spares two requests
  through LocalStack's gateway per invocation (the executor's fast reply, see executor.py);
- as on AWS, a timeout or a crash of the worker ends that invocation with ``Sandbox.Timedout`` or
  ``Runtime.ExitError`` and the next invocation gets a fresh worker (a new init);
- the worker is held to the function's memory size (MemoryWatch): past it, the worker is killed and
  the invocation ends with ``Runtime.OutOfMemory``, as Lambda ends one that runs out of memory.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
MARKER_PREFIX = b"\x1eshardsafe-end:"
LOG_MARKER_WAIT_S = 2.0
MEMORY_POLL_S = 0.01
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TRACE_FILE = os.environ.pop("_SHARDSAFE_TRACE_FILE", "")
# An invocation carrying this key is answered with its outcome (Outcome as JSON) in the reply to
# POST /invoke; one without it is acknowledged at once and its outcome posted back (LocalStack's way).
REPLY_KEY = "shardsafe-reply"


def trace(request_id: str, hop: str) -> None:
    """One hop of an invocation in the trace file, when LocalStack traces (see shardsafe_localstack.trace).

    The same line as ``trace.stamp`` writes, written here again on purpose: this file runs in the
    function's own interpreter, whose ``sys.path`` is the function's, so it imports nothing of ours."""
    if not TRACE_FILE:
        return
    line = json.dumps({"id": request_id, "hop": hop, "t": time.time()}).encode() + b"\n"
    fd = os.open(TRACE_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _now_ms() -> float:
    return time.monotonic() * 1000.0


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


class Worker:
    """One worker process (the language runtime with the handler loaded) and its pipes."""

    def __init__(self, env: dict[str, str]) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        self._log_r, log_w = os.pipe()
        worker_env = dict(env, _SHARDSAFE_CMD_FD=str(cmd_r), _SHARDSAFE_RES_FD=str(res_w))
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-s", "-u", WORKER],
            env=worker_env,
            stdin=subprocess.DEVNULL,
            stdout=log_w,
            stderr=log_w,
            pass_fds=(cmd_r, res_w),
            start_new_session=True,  # the handler's own children die with it
            cwd=env.get("LAMBDA_TASK_ROOT") or None,
        )
        for fd in (cmd_r, res_w, log_w):
            os.close(fd)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._output = bytearray()
        self._output_cond = threading.Condition()
        self._log_eof = False
        threading.Thread(target=self._read_results, daemon=True).start()
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_results(self) -> None:
        with os.fdopen(self._res_r, "rb") as results:
            for line in results:
                try:
                    self.messages.put(json.loads(line))
                except ValueError:
                    continue
        self.messages.put({"type": "exit"})

    def _read_output(self) -> None:
        while True:
            try:
                chunk = os.read(self._log_r, 65536)
            except OSError:
                chunk = b""
            with self._output_cond:
                if not chunk:
                    self._log_eof = True
                    self._output_cond.notify_all()
                    os.close(self._log_r)
                    return
                self._output += chunk
                self._output_cond.notify_all()

    def take_output(self, until_marker: str | None, wait_s: float) -> str:
        """The output so far; with until_marker, up to that invocation's end marker (waiting a little)."""
        deadline = time.monotonic() + wait_s
        with self._output_cond:
            if until_marker is not None:
                marker = MARKER_PREFIX + until_marker.encode() + b"\n"
                while marker not in self._output and not self._log_eof:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._output_cond.wait(remaining)
                index = self._output.find(marker)
                if index >= 0:
                    taken = bytes(self._output[:index])
                    del self._output[: index + len(marker)]
                    return taken.decode("utf-8", errors="replace")
            else:
                while not self._log_eof:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._output_cond.wait(remaining)
            taken = bytes(self._output)
            self._output.clear()
            return taken.decode("utf-8", errors="replace")

    def send(self, message: dict[str, Any]) -> bool:
        data = json.dumps(message).encode() + b"\n"
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._cmd_w, view)
                view = view[written:]
        except OSError:
            return False
        return True

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._cmd_w)

    def exit_description(self) -> str:
        code = self.process.wait()
        if code < 0:
            try:
                return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
            except ValueError:
                return f"signal: {-code}"
        return f"exit status {code}"


def resident_kb(pid: int) -> int:
    """The resident memory of process ``pid`` in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


class MemoryWatch:
    """Kills the worker once its resident memory passes the function's memory size.

    On AWS the execution environment's memory is capped and a function that passes its memory size
    is killed (``Runtime.OutOfMemory``, "Runtime exited with error: signal: killed"). A resource
    limit cannot do that here: RLIMIT_AS counts address space Python reserves but never uses, and
    RLIMIT_DATA makes an allocation fail with a MemoryError the handler can catch, not a kill. So the
    worker's resident set (RSS, what the REPORT line's Max Memory Used shows) is polled every
    MEMORY_POLL_S while an invocation runs, and its peak (ru_maxrss) is checked when it ends, so an
    allocation that passes the limit between two polls is caught too. Only the worker process is
    counted, not processes the handler starts.

    Where this differs from AWS: an allocation caught only by its peak (the poll did not run between
    it and the invocation's end, as on a loaded machine) is caught after the handler ran to its end.
    The invocation still ends as out of memory, but what the handler did and printed after the
    allocation has happened, where on AWS it would not: a test counts an invocation's work by its
    outcome (the REPORT line's ``Status: error``), not by its lines.
    """

    def __init__(self, pid: int, limit_kb: int) -> None:
        self.pid = pid
        self.limit_kb = limit_kb
        self.exceeded = False
        self._done = threading.Event()
        if limit_kb > 0:
            threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while not self._done.wait(MEMORY_POLL_S):
            if resident_kb(self.pid) > self.limit_kb:
                self.exceeded = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                return

    def stop(self, peak_kb: int = 0) -> bool:
        """Stop watching; whether the worker went past the limit (killed, or a peak above it)."""
        self._done.set()
        if self.limit_kb > 0 and peak_kb > self.limit_kb:
            self.exceeded = True
        return self.exceeded


class Outcome(NamedTuple):
    """How an invocation ended: kind is "response" or "error", body the payload, logs its log lines."""

    request_id: str
    kind: str
    body: str
    logs: str


class RuntimeApi:
    """LocalStack's runtime endpoint (ready, logs, response, error) over one kept-alive HTTP connection.

    Posting with urllib, as before, cost 35-60 ms a post, two posts an invocation: build_opener
    makes an HTTPS handler, whose SSL context loads the CA store each time. One connection,
    reused, also spares a TCP handshake per post. A post is retried on a fresh connection when the
    kept one was closed (at once) or the endpoint cannot be reached (backing off).
    """

    ATTEMPTS = 5

    def __init__(self, endpoint: str) -> None:
        url = urllib.parse.urlsplit(endpoint)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.prefix = url.path.rstrip("/")
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.connections_opened = 0

    def post(self, path: str, body: bytes) -> None:
        with self._lock:
            for attempt in range(self.ATTEMPTS):
                reused = self._connection is not None
                try:
                    self._post(path, body)
                    return
                except (OSError, http.client.HTTPException) as error:
                    self._close()
                    if attempt == self.ATTEMPTS - 1:
                        print(f"shardsafe-init: POST {path} failed: {error}", file=sys.stderr, flush=True)
                    elif not reused:
                        time.sleep(0.1 * 2**attempt)

    def _post(self, path: str, body: bytes) -> None:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.connections_opened += 1
        headers = {"Content-Type": "application/json"}
        self._connection.request("POST", self.prefix + path, body=body, headers=headers)
        with self._connection.getresponse() as response:
            response.read()
            if response.will_close:
                self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Environment:
    """The execution environment: the current worker, its init, and the invocations it serves."""

    def __init__(self) -> None:
        env = dict(os.environ)
        self.runtime_api = RuntimeApi(env.pop("LOCALSTACK_RUNTIME_ENDPOINT"))
        self.runtime_id = env.pop("LOCALSTACK_RUNTIME_ID")
        self.timeout_s = float(env.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
        self.memory_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.memory_limit_kb = int(env.pop("_SHARDSAFE_MEMORY_LIMIT_MB", "0") or 0) * 1024
        self.version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.worker_env = env
        self.worker: Worker | None = None
        self.init_error: dict[str, Any] | None = None
        self.init_output = ""
        self.init_duration_ms: float | None = None
        self.lock = threading.Lock()

    # --- init ---
    def start_worker(self) -> None:
        started = _now_ms()
        worker = Worker(self.worker_env)
        message = worker.messages.get()
        self.worker = worker
        self.init_duration_ms = _now_ms() - started
        if message.get("type") == "ready":
            self.init_error = None
        elif message.get("type") == "init_error":
            self.init_error = message["error"]
        else:
            self.init_error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: (init) Error: Runtime exited with error: {worker.exit_description()}",
            }
        self.init_output = worker.take_output(until_marker="init", wait_s=LOG_MARKER_WAIT_S)

    # --- invoke ---
    def invoke(self, invocation: dict[str, Any]) -> Outcome:
        """Run one invocation in the worker and return its outcome; a timeout or crash ends the worker."""
        with self.lock:
            request_id = invocation["invoke-id"]
            trace(request_id, "runtime.started")
            started = _now_ms()
            deadline_ms = started + self.timeout_s * 1000
            init_report = ""
            if self.worker is None or self.worker.process.poll() is not None:
                self.start_worker()  # a suppressed init, counted in the invocation, as on AWS
            init_output, self.init_output = self.init_output, ""
            if self.init_duration_ms is not None:
                init_report = f"\tInit Duration: {self.init_duration_ms:.2f} ms"
                self.init_duration_ms = None
            worker = self.worker
            assert worker is not None
            lines = [f"START RequestId: {request_id} Version: {self.version}\n", init_output]
            if self.init_error is not None:
                error, body = self.init_error, json.dumps(self.init_error)
                lines.append(f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}\n")
                worker.kill()
                self.worker = None
                return self._finish(request_id, lines, started, init_report, "error", body, max_rss_kb=0)

            worker.send(
                {
                    "type": "invoke",
                    "requestId": request_id,
                    "invokedFunctionArn": invocation.get("invoked-function-arn", ""),
                    "payload": invocation.get("payload", ""),
                    "traceId": invocation.get("trace-id", ""),
                    "deadlineEpochMs": int(time.time() * 1000 + (deadline_ms - _now_ms())),
                }
            )
            trace(request_id, "runtime.sent")
            watch = MemoryWatch(worker.process.pid, self.memory_limit_kb)
            try:
                message = worker.messages.get(timeout=max(0.0, (deadline_ms - _now_ms()) / 1000))
            except queue.Empty:
                message = {"type": "timeout"}
            trace(request_id, "runtime.result")
            if watch.stop(int(message.get("maxRssKb", 0))):
                return self._out_of_memory(request_id, worker, lines, started, init_report)

            if message["type"] in ("response", "error"):
                lines.append(worker.take_output(until_marker=request_id, wait_s=LOG_MARKER_WAIT_S))
                return self._finish(
                    request_id,
                    lines,
                    started,
                    init_report,
                    message["type"],
                    message["body"],
                    message.get("maxRssKb", 0),
                )

            worker.kill()
            lines.append(worker.take_output(until_marker=None, wait_s=1.0))
            if message["type"] == "timeout":
                seconds = f"{self.timeout_s:.2f}"
                lines.append(f"{_stamp()} {request_id} Task timed out after {seconds} seconds\n")
                error = {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {seconds} seconds",
                }
            else:
                reason = worker.exit_description()
                lines.append(f"RequestId: {request_id} Error: Runtime exited with error: {reason}\n")
                error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
                }
            self.worker = None
            return self._finish(request_id, lines, started, init_report, "error", json.dumps(error), 0)

    def _out_of_memory(
        self, request_id: str, worker: Worker, lines: list[str], started_ms: float, init_report: str
    ) -> Outcome:
        """End the invocation as Lambda ends one that passed its memory size; the next one gets a new worker."""
        worker.kill()
        self.worker = None
        lines.append(worker.take_output(until_marker=None, wait_s=1.0))
        message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
        lines.append(f"{message}\nRuntime.OutOfMemory\n")
        error = {"errorType": "Runtime.OutOfMemory", "errorMessage": message}
        report = f"{init_report}\tStatus: error\tError Type: Runtime.OutOfMemory"
        body = json.dumps(error)
        return self._finish(request_id, lines, started_ms, report, "error", body, self.memory_limit_kb)

    def _finish(
        self,
        request_id: str,
        lines: list[str],
        started_ms: float,
        init_report: str,
        kind: str,
        body: str,
        max_rss_kb: int,
    ) -> Outcome:
        duration = _now_ms() - started_ms
        lines.append(f"END RequestId: {request_id}\n")
        lines.append(
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {self.memory_mb} MB\t"
            f"Max Memory Used: {max(1, max_rss_kb // 1024)} MB{init_report}\n"
        )
        logs = "".join(line if line.endswith("\n") or not line else line + "\n" for line in lines)
        trace(request_id, "runtime.output")
        return Outcome(request_id, kind, body, logs)

    def invoke_and_post(self, invocation: dict[str, Any]) -> None:
        """LocalStack's runtime protocol: the logs, then the result, posted to the runtime endpoint."""
        outcome = self.invoke(invocation)
        self.post(f"/invocations/{outcome.request_id}/logs", json.dumps({"logs": outcome.logs}).encode())
        trace(outcome.request_id, "runtime.logs_posted")
        self.post(f"/invocations/{outcome.request_id}/{outcome.kind}", outcome.body.encode())
        trace(outcome.request_id, "runtime.response_posted")

    def post(self, path: str, body: bytes) -> None:
        self.runtime_api.post(path, body)


def serve(environment: Environment) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the executor keeps its connection open across invocations
        # The reply's headers and body are two writes: with Nagle's algorithm the body waits for the
        # executor's delayed ACK of the headers, 40 ms on Linux.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.path != "/invoke":
                self.send_error(404)
                return
            try:
                invocation = json.loads(body)
            except ValueError:
                self.send_error(400, "invocation is not JSON")
                return
            trace(str(invocation.get("invoke-id", "")), "runtime.invoke")
            if invocation.get(REPLY_KEY):
                outcome = environment.invoke(invocation)
                self._answer(json.dumps(outcome._asdict()).encode())
                return
            self._answer(b"")
            threading.Thread(target=environment.invoke_and_post, args=(invocation,), daemon=True).start()

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _exit_with_parent(environment: Environment) -> None:
    """LocalStack may die without stopping us (SIGKILL): do not outlive it."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1.0)
    _shutdown(environment)


def _shutdown(environment: Environment, *_: Any) -> None:
    if environment.worker is not None:
        environment.worker.kill()
    os._exit(0)


def main() -> None:
    environment = Environment()
    signal.signal(signal.SIGTERM, lambda *args: _shutdown(environment))
    threading.Thread(target=_exit_with_parent, args=(environment,), daemon=True).start()
    server = serve(environment)
    environment.start_worker()
    status = {"port": server.server_address[1]}
    if environment.init_error is None:
        environment.post(f"/status/{environment.runtime_id}/ready", json.dumps(status).encode())
    else:
        sys.stderr.write(environment.init_output)
        environment.post(
            f"/status/{environment.runtime_id}/error", json.dumps(environment.init_error).encode()
        )
    threading.Event().wait()


if __name__ == "__main__":
    main()
