"""The invocation path between LocalStack and the process runtime, without LocalStack running.

The executor's endpoint (executor.py) is tested against a fake runtime; the runtime's HTTP side
(runtime/bootstrap.py: its /invoke handler and its client of LocalStack's runtime endpoint) against
a fake LocalStack. The fast reply: one kept connection, the outcome in the reply to /invoke; switched
off (SHARDSAFE_LOCALSTACK_FAST_INVOKE=0): LocalStack's protocol, the outcome posted back.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from shardsafe_localstack import executor
from shardsafe_localstack.executor import FAST_INVOKE_ENV, ProcessExecutorEndpoint
from werkzeug import Request

BOOTSTRAP = Path(executor.__file__).parent / "runtime" / "bootstrap.py"


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shardsafe_bootstrap_under_test", BOOTSTRAP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Server:
    """An HTTP/1.1 server in a thread that records each request and the connection it came on."""

    def __init__(
        self, answer: Callable[[BaseHTTPRequestHandler, bytes], None], close_after_reply: bool = False
    ):
        self.requests: list[tuple[str, int, bytes]] = []  # path, client port, body
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append((self.path, self.client_address[1], body))
                answer(self, body)
                if close_after_reply:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def connections(self) -> int:
        return len({port for _, port, _ in self.requests})

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(handler: BaseHTTPRequestHandler, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(200)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def json_request(document: Any) -> Request:
    return Request.from_values(method="POST", data=json.dumps(document), content_type="application/json")


class FakeRuntime:
    """Answers /invoke as bootstrap.py does: the outcome in the reply, or an ack and the outcome posted back."""

    def __init__(self, close_after_reply: bool = False) -> None:
        self.endpoint: ProcessExecutorEndpoint | None = None
        self.server = Server(self.answer, close_after_reply)

    def outcome(self, invocation: dict[str, Any]) -> dict[str, str]:
        request_id = invocation["invoke-id"]
        kind = "error" if "fail" in invocation["payload"] else "response"
        return {
            "request_id": request_id,
            "kind": kind,
            "body": invocation["payload"],
            "logs": f"START {request_id}\n",
        }

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        invocation = json.loads(body)
        outcome = self.outcome(invocation)
        if invocation.get(executor.REPLY_KEY):
            reply(handler, json.dumps(outcome).encode())
            return
        reply(handler, b"")
        threading.Thread(target=self.post_back, args=(outcome,), daemon=True).start()

    def post_back(self, outcome: dict[str, str]) -> None:
        """What LocalStack's router does with the runtime's posts: hand them to the endpoint."""
        assert self.endpoint is not None
        self.endpoint.invocation_logs(json_request({"logs": outcome["logs"]}), outcome["request_id"])
        post = (
            self.endpoint.invocation_error
            if outcome["kind"] == "error"
            else self.endpoint.invocation_response
        )
        post(Request.from_values(method="POST", data=outcome["body"]), outcome["request_id"])


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    fake = FakeRuntime()
    fake.endpoint = ProcessExecutorEndpoint(
        "exec-1", container_address="127.0.0.1", container_port=fake.server.port
    )
    yield fake
    fake.server.close()


def invocation(request_id: str, payload: str = '{"n": 1}') -> dict[str, str]:
    return {"invoke-id": request_id, "invoked-function-arn": "arn", "payload": payload, "trace-id": "t"}


def test_a_fast_invoke_gets_the_result_and_logs_in_the_reply_over_one_kept_connection(
    runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FAST_INVOKE_ENV, raising=False)
    assert runtime.endpoint is not None

    results = [runtime.endpoint.invoke(invocation(f"req-{i}", f'{{"n": {i}}}')) for i in range(3)]

    assert [(r.request_id, r.payload, r.is_error, r.logs) for r in results] == [
        (f"req-{i}", f'{{"n": {i}}}'.encode(), False, f"START req-{i}\n") for i in range(3)
    ]
    assert [json.loads(body)[executor.REPLY_KEY] for _, _, body in runtime.server.requests] == [True] * 3
    assert runtime.server.connections() == 1


def test_a_function_error_comes_back_as_an_error_result(
    runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FAST_INVOKE_ENV, raising=False)
    assert runtime.endpoint is not None

    result = runtime.endpoint.invoke(invocation("req-1", '{"fail": true}'))

    assert (result.is_error, result.payload, result.logs) == (True, b'{"fail": true}', "START req-1\n")


def test_a_connection_the_runtime_closed_is_replaced_and_the_invocation_sent_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(FAST_INVOKE_ENV, raising=False)
    fake = FakeRuntime(close_after_reply=True)
    endpoint = ProcessExecutorEndpoint(
        "exec-2", container_address="127.0.0.1", container_port=fake.server.port
    )
    try:
        results = [endpoint.invoke(invocation(f"req-{i}")) for i in range(2)]
    finally:
        fake.server.close()

    assert [r.request_id for r in results] == ["req-0", "req-1"]
    assert len(fake.server.requests) == 2
    assert fake.server.connections() == 2


def test_with_the_switch_off_the_outcome_comes_back_by_posts_to_the_endpoint_as_stock(
    runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAST_INVOKE_ENV, "0")
    assert runtime.endpoint is not None

    result = runtime.endpoint.invoke(invocation("req-1"))

    assert (result.request_id, result.payload, result.logs) == ("req-1", b'{"n": 1}', "START req-1\n")
    (request,) = runtime.server.requests
    assert executor.REPLY_KEY not in json.loads(request[2])


# --- The runtime's side (bootstrap.py) ---


def test_the_runtime_and_the_executor_agree_on_the_reply_key() -> None:
    assert load_bootstrap().REPLY_KEY == executor.REPLY_KEY


def test_the_runtime_posts_to_localstack_over_one_kept_connection_and_reconnects_when_it_is_closed() -> None:
    bootstrap = load_bootstrap()
    closing = {"next": False}

    def answer(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        close = closing["next"]  # read once: the client changes it as soon as it has the reply
        reply(handler, b"", {"Connection": "close"} if close else None)
        handler.close_connection = close

    localstack = Server(answer)
    try:
        api = bootstrap.RuntimeApi(f"http://127.0.0.1:{localstack.port}/_localstack_lambda/exec-1")
        for i in range(3):
            api.post(f"/invocations/req-{i}/logs", b"{}")
        closing["next"] = True
        api.post("/invocations/req-3/response", b"{}")
        closing["next"] = False
        api.post("/invocations/req-4/response", b"{}")
    finally:
        localstack.close()

    assert [path for path, _, _ in localstack.requests] == [
        *(f"/_localstack_lambda/exec-1/invocations/req-{i}/logs" for i in range(3)),
        "/_localstack_lambda/exec-1/invocations/req-3/response",
        "/_localstack_lambda/exec-1/invocations/req-4/response",
    ]
    assert api.connections_opened == 2
    assert localstack.connections() == 2


class FakeEnvironment:
    def __init__(self, bootstrap: ModuleType) -> None:
        self.bootstrap = bootstrap
        self.invoked: list[str] = []
        self.posted = threading.Event()

    def invoke(self, invocation: dict[str, Any]) -> Any:
        self.invoked.append(invocation["invoke-id"])
        return self.bootstrap.Outcome(invocation["invoke-id"], "response", "42", "START\n")

    def invoke_and_post(self, invocation: dict[str, Any]) -> None:
        self.invoke(invocation)
        self.posted.set()


def test_the_runtime_answers_an_invocation_marked_for_reply_with_its_outcome_and_others_with_an_ack() -> None:
    import http.client

    bootstrap = load_bootstrap()
    environment = FakeEnvironment(bootstrap)
    server = bootstrap.serve(environment)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("POST", "/invoke", body=json.dumps({"invoke-id": "a", bootstrap.REPLY_KEY: True}))
        with connection.getresponse() as response:
            replied = json.loads(response.read())
        connection.request("POST", "/invoke", body=json.dumps({"invoke-id": "b"}))  # the same connection
        with connection.getresponse() as response:
            acked = response.read()
        assert environment.posted.wait(10)
    finally:
        server.shutdown()

    assert replied == {"request_id": "a", "kind": "response", "body": "42", "logs": "START\n"}
    assert acked == b""
    assert environment.invoked == ["a", "b"]


def test_the_runtime_sends_its_replies_without_waiting_for_an_ack_of_the_headers() -> None:
    # Nagle's algorithm would hold the reply's body until the executor's delayed ACK: 40 ms on Linux.
    bootstrap = load_bootstrap()
    server = bootstrap.serve(FakeEnvironment(bootstrap))
    try:
        assert server.RequestHandlerClass.disable_nagle_algorithm is True
    finally:
        server.shutdown()


def test_an_invoke_broken_by_stopping_the_runtime_ends_cancelled_and_is_not_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from concurrent.futures import CancelledError

    monkeypatch.delenv(FAST_INVOKE_ENV, raising=False)
    endpoint: list[ProcessExecutorEndpoint] = []

    def killed_mid_invocation(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        endpoint[0].stopping()  # what ProcessRuntimeExecutor.stop does before it kills the runtime
        handler.close_connection = True  # the runtime dies without answering

    server = Server(killed_mid_invocation)
    endpoint.append(
        ProcessExecutorEndpoint("exec-3", container_address="127.0.0.1", container_port=server.port)
    )
    try:
        with pytest.raises(CancelledError):
            endpoint[0].invoke(invocation("req-1"))
    finally:
        server.close()

    assert len(server.requests) == 1
