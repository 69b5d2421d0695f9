"""is_transient: real exceptions from the builtins, botocore, requests and urllib3, wrapped and not, and from real
connections a local server breaks."""

from __future__ import annotations

import asyncio
import errno
import http.client
import inspect
import json
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import botocore.exceptions as botocore_errors
import pytest
import requests
import requests.exceptions as requests_errors
import urllib3.exceptions as urllib3_errors
from botocore.exceptions import ClientError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from shardsafe.core.transient import (
    MAX_CAUSE_DEPTH,
    THROTTLING_ERROR_CODES,
    TRANSIENT_ERROR_CODES,
    TRANSIENT_STATUS_CODES,
    TRANSIENT_TYPE_NAMES,
    is_transient,
)

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"


def client_error(code: str, status: int, operation: str = "PutItem") -> ClientError:
    """A ClientError as botocore raises it, with the response dict a service error parses to."""
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} from the service"},
        "ResponseMetadata": {"RequestId": "EXAMPLE", "HTTPStatusCode": status, "RetryAttempts": 2},
    }
    return ClientError(response, operation)


def caused_by(error: BaseException, cause: BaseException) -> BaseException:
    """``error`` as ``raise error from cause`` leaves it."""
    error.__cause__ = cause
    return error


def stand_in(module: str, *names: str) -> type[Exception]:
    """A class hierarchy named like a library's, for a library not installed here (httpx)."""
    base: type[Exception] = Exception
    for name in names:
        base = type(name, (base,), {"__module__": module})
    return base


class WrapperError(Exception):
    """An application's own exception around the one it caught, as templates/handler.py does."""


class BrokenResponseError(Exception):
    @property
    def response(self) -> dict[str, Any]:
        raise RuntimeError("the response property itself is broken")


class BrokenReasonError(Exception):
    @property
    def reason(self) -> BaseException:
        raise RuntimeError("the reason property itself is broken")


class ShapedResponseError(Exception):
    def __init__(self, response: object) -> None:
        super().__init__("an exception with an odd response")
        self.response = response


def response_of(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def http_status_error(package: str, name: str, status: int) -> Exception:
    """httpx's HTTPStatusError (status on its response) or aiohttp's ClientResponseError (status on itself)."""
    error = stand_in(package, "HTTPError" if package == "httpx" else "ClientError", name)()
    if package == "httpx":
        error.response = type("Response", (), {"status_code": status})()  # type: ignore[attr-defined]
    else:
        error.status = status  # type: ignore[attr-defined]
    return error


TRANSIENT = [
    # Builtins
    pytest.param(
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), id="ConnectionResetError"
    ),
    pytest.param(BrokenPipeError(errno.EPIPE, "Broken pipe"), id="BrokenPipeError"),
    pytest.param(
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), id="ConnectionRefusedError"
    ),
    pytest.param(ConnectionAbortedError(), id="ConnectionAbortedError"),
    pytest.param(ConnectionError("downstream went away"), id="ConnectionError"),
    pytest.param(OSError(errno.ECONNRESET, "reset"), id="OSError-ECONNRESET-becomes-ConnectionResetError"),
    pytest.param(http.client.RemoteDisconnected("Remote end closed connection"), id="RemoteDisconnected"),
    pytest.param(
        TimeoutError("timed out"), id="TimeoutError"
    ),  # socket.timeout and asyncio.TimeoutError are this class
    pytest.param(OSError(errno.ENETUNREACH, "Network is unreachable"), id="OSError-ENETUNREACH"),
    pytest.param(OSError(errno.EHOSTUNREACH, "No route to host"), id="OSError-EHOSTUNREACH"),
    # botocore connection errors
    pytest.param(
        botocore_errors.EndpointConnectionError(endpoint_url=ENDPOINT), id="botocore-EndpointConnection"
    ),
    pytest.param(botocore_errors.ConnectTimeoutError(endpoint_url=ENDPOINT), id="botocore-ConnectTimeout"),
    pytest.param(botocore_errors.ReadTimeoutError(endpoint_url=ENDPOINT), id="botocore-ReadTimeout"),
    pytest.param(
        botocore_errors.ConnectionClosedError(endpoint_url=ENDPOINT), id="botocore-ConnectionClosed"
    ),
    pytest.param(botocore_errors.ResponseStreamingError(error="reset"), id="botocore-ResponseStreaming"),
    pytest.param(
        botocore_errors.ProxyConnectionError(proxy_url="http://proxy:3128"), id="botocore-ProxyConnection"
    ),
    # AWS throttling, by error code (these come back with 400, or 503 for SlowDown / EC2)
    pytest.param(
        client_error("ProvisionedThroughputExceededException", 400), id="ProvisionedThroughputExceeded"
    ),
    pytest.param(client_error("ThrottlingException", 400), id="ThrottlingException"),
    pytest.param(client_error("Throttling", 400, "SendMessage"), id="Throttling"),
    pytest.param(client_error("TooManyRequestsException", 400, "Invoke"), id="TooManyRequestsException"),
    pytest.param(client_error("RequestLimitExceeded", 503, "DescribeInstances"), id="RequestLimitExceeded"),
    pytest.param(client_error("LimitExceededException", 400, "PutRecords"), id="kinesis-LimitExceeded"),
    pytest.param(client_error("SlowDown", 503, "PutObject"), id="s3-SlowDown"),
    # AWS transient codes and 5xx
    pytest.param(client_error("RequestTimeout", 400, "PutObject"), id="s3-RequestTimeout-400"),
    pytest.param(client_error("InternalError", 500, "PutObject"), id="s3-InternalError"),
    pytest.param(client_error("InternalFailure", 500), id="InternalFailure"),
    pytest.param(client_error("ServiceUnavailable", 503), id="ServiceUnavailable"),
    pytest.param(client_error("InternalServerError", 500), id="dynamodb-InternalServerError-by-status"),
    pytest.param(client_error("BadGateway", 502), id="502-by-status"),
    pytest.param(client_error("SomeNewCode", 503), id="503-by-status"),
    pytest.param(client_error("GatewayTimeout", 504), id="504-by-status"),
    pytest.param(client_error("TooManyRequests", 429), id="429-by-status"),
    pytest.param(ShapedResponseError({"Error": {"Code": "ThrottlingException"}}), id="code-without-metadata"),
    # requests and urllib3
    pytest.param(requests_errors.ConnectionError("Connection aborted."), id="requests-ConnectionError"),
    pytest.param(requests_errors.ConnectTimeout(), id="requests-ConnectTimeout"),
    pytest.param(requests_errors.ReadTimeout(), id="requests-ReadTimeout"),
    pytest.param(requests_errors.Timeout(), id="requests-Timeout"),
    pytest.param(requests_errors.ProxyError(), id="requests-ProxyError"),
    pytest.param(urllib3_errors.ReadTimeoutError(None, "/", "Read timed out."), id="urllib3-ReadTimeout"),
    pytest.param(urllib3_errors.ConnectTimeoutError("connect timed out"), id="urllib3-ConnectTimeout"),
    pytest.param(urllib3_errors.NewConnectionError(None, "Failed to establish"), id="urllib3-NewConnection"),
    pytest.param(
        urllib3_errors.NameResolutionError("example.com", None, socket.gaierror(-3, "Temporary failure")),
        id="urllib3-NameResolution",
    ),
    pytest.param(
        urllib3_errors.ProtocolError("Connection aborted.", ConnectionResetError()), id="urllib3-Protocol"
    ),
    pytest.param(urllib3_errors.ProxyError("Unable to connect to proxy", OSError()), id="urllib3-ProxyError"),
    # httpx and httpcore (not installed here: stand-ins with their module and class names)
    pytest.param(
        stand_in("httpx", "HTTPError", "TransportError", "TimeoutException", "ReadTimeout")(),
        id="httpx-ReadTimeout",
    ),
    pytest.param(
        stand_in("httpx", "HTTPError", "TransportError", "NetworkError", "ConnectError")(),
        id="httpx-ConnectError",
    ),
    pytest.param(
        stand_in("httpcore._exceptions", "TimeoutException", "PoolTimeout")(), id="httpcore-PoolTimeout"
    ),
    # Wrapped: followed through __cause__, and URLError's reason
    pytest.param(
        caused_by(WrapperError("cannot write s3://b/k"), client_error("SlowDown", 503)),
        id="wrapped-ClientError",
    ),
    pytest.param(
        caused_by(RuntimeError("lookup failed"), ConnectionResetError()), id="wrapped-ConnectionReset"
    ),
    pytest.param(
        caused_by(
            urllib3_errors.MaxRetryError(None, "/", urllib3_errors.NewConnectionError(None, "refused")),
            urllib3_errors.NewConnectionError(None, "refused"),
        ),
        id="urllib3-MaxRetryError-from-NewConnectionError",
    ),
    pytest.param(
        urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), id="URLError-refused"
    ),
    pytest.param(urllib.error.URLError(OSError(errno.ENETUNREACH, "unreachable")), id="URLError-unreachable"),
    # Name resolution that did not answer, alone and inside urllib's URLError
    pytest.param(
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), id="gaierror-EAI_AGAIN"
    ),
    pytest.param(
        urllib.error.URLError(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
        id="URLError-gaierror-EAI_AGAIN",
    ),
    # A connection closed under the response
    pytest.param(http.client.IncompleteRead(b"par", 7), id="http.client-IncompleteRead"),
    pytest.param(urllib3_errors.IncompleteRead(3, 7), id="urllib3-IncompleteRead"),
    pytest.param(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), id="ssl-SSLEOFError"),
    pytest.param(
        ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"), id="ssl-SSLZeroReturnError"
    ),
    pytest.param(
        botocore_errors.IncompleteReadError(actual_bytes=3, expected_bytes=7), id="botocore-IncompleteRead"
    ),
    pytest.param(requests_errors.ChunkedEncodingError("Connection broken"), id="requests-ChunkedEncoding"),
    pytest.param(asyncio.IncompleteReadError(b"par", 7), id="asyncio-IncompleteRead"),
    pytest.param(
        stand_in("httpx", "HTTPError", "TransportError", "ProtocolError", "RemoteProtocolError")(),
        id="httpx-RemoteProtocolError",
    ),
    pytest.param(
        stand_in("aiohttp.client_exceptions", "ClientError", "ServerDisconnectedError")(),
        id="aiohttp-ServerDisconnected",
    ),
    pytest.param(
        type("ClientConnectorError", (OSError,), {"__module__": "aiohttp.client_exceptions"})(
            errno.ECONNREFUSED, "Connect call failed"
        ),
        id="an-OSError-subclass-with-ECONNREFUSED",
    ),
    # Status retries that ran out, and statuses that say the server is busy or away
    pytest.param(urllib3_errors.ResponseError("too many 503 error responses"), id="urllib3-ResponseError"),
    pytest.param(requests_errors.RetryError("Max retries exceeded"), id="requests-RetryError"),
    *[
        pytest.param(
            urllib.error.HTTPError("https://x", status, "", None, None), id=f"urllib-HTTPError-{status}"
        )  # type: ignore[arg-type]
        for status in (408, 429, 502, 503, 504)
    ],
    *[
        pytest.param(
            requests_errors.HTTPError(response=response_of(status)), id=f"requests-HTTPError-{status}"
        )
        for status in (429, 503)
    ],
    pytest.param(http_status_error("httpx", "HTTPStatusError", 503), id="httpx-HTTPStatusError-503"),
    pytest.param(
        http_status_error("aiohttp", "ClientResponseError", 429), id="aiohttp-ClientResponseError-429"
    ),
]


NOT_TRANSIENT = [
    # Bugs and bad data
    pytest.param(ValueError("could not convert string to float: 'abc'"), id="ValueError"),
    pytest.param(KeyError("PRICE"), id="KeyError"),
    pytest.param(TypeError("unsupported operand"), id="TypeError"),
    pytest.param(json.JSONDecodeError("Expecting value", "nope", 0), id="JSONDecodeError"),
    pytest.param(
        requests_errors.JSONDecodeError("Expecting value", "nope", 0), id="requests-JSONDecodeError"
    ),
    pytest.param(RuntimeError("boom"), id="RuntimeError"),
    pytest.param(ZeroDivisionError(), id="ZeroDivisionError"),
    pytest.param(KeyboardInterrupt(), id="KeyboardInterrupt"),
    # OSErrors that fail the same way every time
    pytest.param(FileNotFoundError(errno.ENOENT, "No such file"), id="FileNotFoundError"),
    pytest.param(PermissionError(errno.EACCES, "Permission denied"), id="PermissionError"),
    pytest.param(OSError(errno.EIO, "I/O error"), id="OSError-EIO"),
    pytest.param(OSError("no errno"), id="OSError-bare"),
    # AWS errors about the request itself
    pytest.param(client_error("ValidationException", 400), id="ValidationException"),
    pytest.param(client_error("ConditionalCheckFailedException", 400), id="ConditionalCheckFailed"),
    pytest.param(client_error("AccessDenied", 403, "PutObject"), id="AccessDenied"),
    pytest.param(client_error("AccessDeniedException", 400), id="AccessDeniedException"),
    pytest.param(client_error("ResourceNotFoundException", 400), id="ResourceNotFound"),
    pytest.param(client_error("NoSuchKey", 404, "GetObject"), id="NoSuchKey"),
    pytest.param(client_error("NotImplemented", 501, "PutObject"), id="501"),
    pytest.param(botocore_errors.NoCredentialsError(), id="botocore-NoCredentials"),
    pytest.param(botocore_errors.ParamValidationError(report="Invalid type"), id="botocore-ParamValidation"),
    # HTTP libraries: errors that are not about the connection
    pytest.param(requests_errors.HTTPError("503 Server Error"), id="requests-HTTPError-without-response"),
    *[
        pytest.param(
            requests_errors.HTTPError(response=response_of(status)), id=f"requests-HTTPError-{status}"
        )
        for status in (400, 404, 413, 500)
    ],
    *[
        pytest.param(
            urllib.error.HTTPError("https://x", status, "", None, None), id=f"urllib-HTTPError-{status}"
        )  # type: ignore[arg-type]
        for status in (400, 413, 500, 501)
    ],
    pytest.param(http_status_error("httpx", "HTTPStatusError", 500), id="httpx-HTTPStatusError-500"),
    pytest.param(
        stand_in("httpx", "HTTPError", "TransportError", "ProtocolError", "LocalProtocolError")(),
        id="httpx-LocalProtocolError",
    ),
    pytest.param(socket.gaierror(socket.EAI_NONAME, "Name or service not known"), id="gaierror-EAI_NONAME"),
    pytest.param(
        urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
        id="URLError-gaierror-EAI_NONAME",
    ),
    pytest.param(ssl.SSLCertVerificationError(1, "certificate verify failed"), id="ssl-CertVerification"),
    pytest.param(requests_errors.ContentDecodingError("bad gzip"), id="requests-ContentDecoding"),
    pytest.param(requests_errors.InvalidURL("nope"), id="requests-InvalidURL"),
    pytest.param(urllib3_errors.LocationParseError("nope"), id="urllib3-LocationParse"),
    pytest.param(urllib3_errors.DecodeError("bad gzip"), id="urllib3-DecodeError"),
    pytest.param(urllib.error.URLError("unknown url type: ftp"), id="URLError-str-reason"),
    pytest.param(stand_in("httpx", "HTTPError", "HTTPStatusError")(), id="httpx-HTTPStatusError-no-response"),
    pytest.param(
        stand_in("httpx", "HTTPError", "TransportError", "UnsupportedProtocol")(), id="httpx-Unsupported"
    ),
    # Names that match only in another package
    pytest.param(stand_in("myapp.errors", "TimeoutException", "NetworkError")(), id="own-NetworkError"),
    pytest.param(stand_in("botocore_extras", "ConnectionError")(), id="botocore-prefixed-package"),
    # Wrapped, but not by a transient cause
    pytest.param(caused_by(WrapperError("bad tick"), KeyError("PRICE")), id="wrapped-KeyError"),
    pytest.param(
        caused_by(WrapperError("rejected"), client_error("ValidationException", 400)), id="wrapped-Validation"
    ),
    # Broken or odd shapes never raise
    pytest.param(BrokenResponseError(), id="response-property-raises"),
    pytest.param(BrokenReasonError(), id="reason-property-raises"),
    pytest.param(ShapedResponseError("503"), id="response-not-a-dict"),
    pytest.param(ShapedResponseError({"Error": "ThrottlingException"}), id="Error-not-a-dict"),
    pytest.param(ShapedResponseError({"Error": {"Code": ["ThrottlingException"]}}), id="Code-unhashable"),
    pytest.param(ShapedResponseError({"ResponseMetadata": {"HTTPStatusCode": "503"}}), id="status-a-string"),
    pytest.param(
        ShapedResponseError({"ResponseMetadata": {"HTTPStatusCode": [503]}}), id="status-unhashable"
    ),
    pytest.param(ShapedResponseError({"ResponseMetadata": None}), id="metadata-None"),
    pytest.param(OSError([errno.ENETUNREACH], "errno is a list"), id="errno-unhashable"),
]


@pytest.mark.parametrize("error", TRANSIENT)
def test_transient_failures_are_recognised(error: BaseException) -> None:
    assert is_transient(error) is True


@pytest.mark.parametrize("error", NOT_TRANSIENT)
def test_poison_and_odd_exceptions_are_not_transient(error: BaseException) -> None:
    assert is_transient(error) is False


def test_a_cause_set_by_raise_from_makes_the_wrapper_transient() -> None:
    with pytest.raises(WrapperError) as caught:
        try:
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
        except ConnectionResetError as error:
            raise WrapperError("lookup failed") from error
    assert is_transient(caught.value)


def test_an_exception_raised_while_handling_a_timeout_is_not_transient() -> None:
    """``__context__`` is not followed: a bug in an except block still quarantines."""
    with pytest.raises(KeyError) as caught:
        try:
            raise TimeoutError
        except TimeoutError:
            raise KeyError("PRICE")  # noqa: B904 - the implicit context is the point of the test
    assert isinstance(caught.value.__context__, TimeoutError)
    assert not is_transient(caught.value)


def test_causes_are_followed_down_to_max_cause_depth_and_no_further() -> None:
    def wrapped(depth: int) -> BaseException:
        error: BaseException = TimeoutError()
        for level in range(depth):
            error = caused_by(WrapperError(f"level {level}"), error)
        return error

    assert is_transient(wrapped(MAX_CAUSE_DEPTH))
    assert not is_transient(wrapped(MAX_CAUSE_DEPTH + 1))


def test_a_cycle_of_causes_ends() -> None:
    first, second = WrapperError("first"), WrapperError("second")
    first.__cause__, second.__cause__ = second, first
    assert not is_transient(first)


def test_a_real_failed_connection_through_requests_is_transient() -> None:
    """What requests raises for a refused connection (no server listens on port 1)."""
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get("http://127.0.0.1:1/", timeout=2)
    assert not isinstance(caught.value, ConnectionError)  # not the builtin: matched by name
    assert is_transient(caught.value)


def test_the_lists_are_botocores_standard_retry_lists() -> None:
    """If botocore adds a code or a status to its standard retry mode, this fails: add it here too."""
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) == THROTTLING_ERROR_CODES
    assert TRANSIENT_ERROR_CODES - set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) == {
        "InternalFailure",
        "ServiceUnavailable",
        "InternalError",
    }
    assert set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= TRANSIENT_ERROR_CODES
    assert TRANSIENT_STATUS_CODES - set(TransientRetryableChecker._TRANSIENT_STATUS_CODES) == {429}
    assert set(TransientRetryableChecker._TRANSIENT_STATUS_CODES) <= TRANSIENT_STATUS_CODES
    for cls in TransientRetryableChecker._TRANSIENT_EXCEPTION_CLS:
        assert f"botocore.{cls.__name__}" in TRANSIENT_TYPE_NAMES


def exception_classes(module: ModuleType) -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException)
        and not issubclass(cls, Warning)
        and cls.__module__ == module.__name__
    ]


@pytest.mark.parametrize(
    ("module", "transient_bases"),
    [
        pytest.param(
            botocore_errors,
            (*TransientRetryableChecker._TRANSIENT_EXCEPTION_CLS, botocore_errors.IncompleteReadError),
            id="botocore",
        ),
        pytest.param(
            requests_errors,
            (
                requests_errors.ConnectionError,
                requests_errors.Timeout,
                requests_errors.ChunkedEncodingError,
                requests_errors.RetryError,
            ),
            id="requests",
        ),
        pytest.param(
            urllib3_errors,
            (
                urllib3_errors.TimeoutError,
                urllib3_errors.ProtocolError,
                urllib3_errors.ProxyError,
                urllib3_errors.ResponseError,
                http.client.IncompleteRead,  # urllib3's IncompleteRead and InvalidChunkLength
            ),
            id="urllib3",
        ),
    ],
)
def test_exactly_the_connection_and_timeout_classes_of_a_library_are_transient(
    module: ModuleType, transient_bases: tuple[type[BaseException], ...]
) -> None:
    """Every exception class the library defines, built without arguments (the check reads only its type)."""
    classes = exception_classes(module)
    assert len(classes) > 10
    wrong = [
        cls.__name__ for cls in classes if is_transient(cls.__new__(cls)) != issubclass(cls, transient_bases)
    ]
    assert wrong == []


def test_importing_the_module_does_not_import_the_libraries_it_recognises() -> None:
    code = (
        "import sys, shardsafe.core.transient;"
        "loaded = sorted({'botocore', 'boto3', 'requests', 'urllib3', 'httpx'} & set(sys.modules));"
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- real failures, from a local server that misbehaves ---


@pytest.fixture
def server() -> Iterator[Any]:
    """A local HTTP/1.1 server; ``server.answer`` is the raw bytes it sends to every request, then it closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    state: Any = type(
        "Server", (), {"answer": b"", "url": f"http://127.0.0.1:{listener.getsockname()[1]}/"}
    )()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(state.answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield state
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() the thread waits in
    listener.close()
    thread.join(5)


CUT_SHORT = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nonly this"


def unavailable(status: int) -> bytes:
    return b"HTTP/1.1 %d Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % status


def test_a_body_cut_short_is_transient_through_urllib(server: Any) -> None:
    server.answer = CUT_SHORT
    with pytest.raises(http.client.IncompleteRead) as caught:
        urllib.request.urlopen(server.url, timeout=5).read()
    assert is_transient(caught.value)


def test_a_body_cut_short_is_transient_through_requests(server: Any) -> None:
    server.answer = CUT_SHORT
    with pytest.raises(requests.RequestException) as caught:
        requests.get(server.url, timeout=5).content  # noqa: B018 - reading the body is what fails
    assert is_transient(caught.value)


@pytest.mark.parametrize(("status", "transient"), [(429, True), (503, True), (500, False), (404, False)])
def test_an_error_status_through_urllib_and_requests(server: Any, status: int, transient: bool) -> None:
    server.answer = unavailable(status)
    with pytest.raises(urllib.error.HTTPError) as from_urllib:
        urllib.request.urlopen(server.url, timeout=5)
    with pytest.raises(requests.HTTPError) as from_requests:
        requests.get(server.url, timeout=5).raise_for_status()
    assert (is_transient(from_urllib.value), is_transient(from_requests.value)) == (transient, transient)
