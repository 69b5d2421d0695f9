"""Whether an exception is a transient failure (retry the record) rather than poison (quarantine it).

A timeout, a dropped connection or a throttled AWS call says nothing about the record being
processed; quarantining the record for it would quarantine good records by the thousand during a
downstream outage. :func:`is_transient` recognises these failures without importing botocore,
requests or urllib3 (botocore alone adds hundreds of ms to a cold start): library exceptions are
matched by class name over the exception's MRO, botocore's ``ClientError`` by its ``response`` dict.

    >>> is_transient(TimeoutError("read timed out"))
    True
    >>> is_transient(KeyError("PRICE"))
    False

What counts, and where each list comes from (the sources read: botocore 1.x
``botocore/retries/standard.py`` and ``exceptions.py``; urllib3 2.x ``exceptions.py`` and
``util/retry.py``; requests 2.x ``exceptions.py`` and ``models.py``; httpx 0.2x ``_exceptions.py``;
aiohttp 3.x ``client_exceptions.py``; the standard library's ``socket``, ``ssl``, ``http.client`` and
``urllib.error``):

1. The builtin ``ConnectionError`` and its subclasses (``ConnectionResetError``,
   ``BrokenPipeError``, ``ConnectionRefusedError``, ``ConnectionAbortedError``,
   ``http.client.RemoteDisconnected``), and ``TimeoutError`` (``socket.timeout``,
   ``asyncio.TimeoutError`` and ``concurrent.futures.TimeoutError`` are aliases of it).
2. An ``OSError`` whose errno is in :data:`TRANSIENT_ERRNOS`: the network or host is down or
   unreachable, the connection was refused, reset or dropped, or timed out. Python maps some of these to
   the subclasses above only for ``OSError`` itself, so a library's own ``OSError`` subclass
   (aiohttp's ``ClientConnectorError``) is matched by its errno. A ``socket.gaierror`` whose errno is
   ``EAI_AGAIN`` ("Temporary failure in name resolution": the resolver did not answer) is transient
   too. Any other ``OSError`` is not: ``FileNotFoundError`` or ``PermissionError`` fail the same way
   on every retry, and ``OSError`` is also the base of every ``requests`` exception,
   ``requests.JSONDecodeError`` included.
3. A class in :data:`TRANSIENT_TYPE_NAMES` anywhere in the exception's MRO, named
   ``<top-level package>.<class name>``:

   - botocore: ``ConnectionError`` and ``HTTPClientError``, the classes that botocore's standard
     retry mode retries (``TransientRetryableChecker._TRANSIENT_EXCEPTION_CLS``); they cover
     ``EndpointConnectionError``, ``ConnectTimeoutError``, ``ProxyConnectionError``,
     ``SSLError``, ``ReadTimeoutError``, ``ConnectionClosedError`` and ``ResponseStreamingError``.
     And ``IncompleteReadError``: a streamed body (``get_object()["Body"].read()``) ended before
     its Content-Length, the connection having closed.
   - requests: ``ConnectionError`` and ``Timeout`` (they cover ``ConnectTimeout``, ``ReadTimeout``,
     ``ProxyError`` and ``SSLError``); ``ChunkedEncodingError`` (the connection broke in the middle of
     a chunked body; requests raises it without ``from``, so the urllib3 error is not its cause);
     ``RetryError`` (urllib3's status retries ran out: the server kept answering a status it was
     told to retry). Neither is a builtin ``ConnectionError``.
   - urllib3: ``TimeoutError`` (``ConnectTimeoutError``, ``ReadTimeoutError``,
     ``NewConnectionError``, ``NameResolutionError``), ``ProtocolError`` (the connection was
     aborted or broken mid-response; urllib3's own ``Retry`` counts it as a read error),
     ``ProxyError`` and ``ResponseError`` (status retries ran out). ``MaxRetryError`` carries its
     last error in ``reason``, followed as a cause (5.).
   - httpx and httpcore: ``TimeoutException`` (connect, read, write and pool timeouts),
     ``NetworkError`` (``ConnectError``, ``ReadError``, ``WriteError``, ``CloseError``),
     ``RemoteProtocolError`` (the server closed the connection or broke HTTP, "Server disconnected
     without sending a response" on a reused keep-alive connection) and ``ProxyError``. Not
     ``LocalProtocolError``: a request httpx refuses to send fails again.
   - aiohttp: ``ServerDisconnectedError`` and ``ClientPayloadError`` (the response body was cut
     short). Its timeouts are ``TimeoutError`` and its connection errors carry an errno (2.).
   - the standard library: ``http.client.IncompleteRead`` (a body shorter than its
     Content-Length; urllib3's ``IncompleteRead`` and ``InvalidChunkLength`` subclass it),
     ``ssl.SSLEOFError`` and ``ssl.SSLZeroReturnError`` (the TLS connection was closed under the
     request), ``asyncio.IncompleteReadError`` (a stream ended early).

4. An error response that says the server is busy or away, not that the request is wrong:

   - from AWS: an exception whose ``response`` is a dict shaped like the one botocore's
     ``ClientError`` carries, with ``["Error"]["Code"]`` in :data:`THROTTLING_ERROR_CODES` or
     :data:`TRANSIENT_ERROR_CODES`, or ``["ResponseMetadata"]["HTTPStatusCode"]`` in
     :data:`TRANSIENT_STATUS_CODES`. :data:`THROTTLING_ERROR_CODES` is
     ``ThrottledRetryableChecker._THROTTLED_ERROR_CODES`` as is; :data:`TRANSIENT_ERROR_CODES` is
     ``TransientRetryableChecker._TRANSIENT_ERROR_CODES`` plus ``InternalFailure`` (500) and
     ``ServiceUnavailable`` (503) from the "Common Errors" page of the AWS API references, and S3's
     ``InternalError`` (500; "Amazon S3 error best practices": retry InternalErrors);
     :data:`TRANSIENT_STATUS_CODES` is ``TransientRetryableChecker._TRANSIENT_STATUS_CODES``
     (500, 502, 503, 504) plus 429 (botocore's legacy mode, ``too_many_requests`` in
     ``botocore/data/_retry.json``). AWS's 500 is retried: botocore does, and AWS documents it as
     its own fault.
   - from any other HTTP API, raised by urllib (``urllib.error.HTTPError.code``), requests
     (``HTTPError.response.status_code``, from ``raise_for_status()``), httpx
     (``HTTPStatusError.response.status_code``) or aiohttp (``ClientResponseError.status``): a
     status in :data:`TRANSIENT_HTTP_STATUSES`: 408 Request Timeout (the request did not arrive in
     time), 429 Too Many Requests, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout.
     These describe the server or the path to it. Not 500: a third-party API can answer 500 to one
     bad payload every time, and handing a poison record back forever stalls its shard; a handler
     that knows its API's 500s are transient raises ``shardsafe.RetryableError`` for them. Not 413
     Payload Too Large either, which urllib3 retries with a Retry-After header: the payload will not
     shrink.

5. An exception caused by a transient one, up to :data:`MAX_CAUSE_DEPTH` links down: wrapping is
   common (``raise OutputUnavailable(...) from client_error``). A link is ``__cause__`` (``raise
   ... from ...``), or failing that a ``reason`` attribute holding an exception, which is how
   ``urllib.error.URLError`` carries the socket error (a ``gaierror`` included) and urllib3's
   ``MaxRetryError`` its last error. The implicit ``__context__`` is not followed: an exception raised
   while handling a timeout is not thereby caused by it (a bug in an ``except`` block must still
   quarantine).

Left out, and why:

- ``socket.gaierror`` other than ``EAI_AGAIN`` (``EAI_NONAME``: the name does not exist,
  ``EAI_FAIL``): a wrong host name fails the same way on every retry. It fails every record, which
  the poison alarm shows, rather than stalling every shard.
- ``ssl.SSLCertVerificationError`` and other ``SSLError`` (a certificate or protocol mismatch):
  configuration, not the network's state. botocore's ``SSLError`` is kept, as botocore retries it.
- errors a service model marks retryable (botocore's ``ModeledRetryableChecker``): the exception
  does not carry the model.
- ``requests.ContentDecodingError``, httpx ``DecodingError``: a body that does not decode
  (gzip) is the response's content, not its transport.
- HTTP statuses from clients not named here (a status attribute alone is too weak a sign).

Anything else is not transient, including a ``ClientError`` with another code
(``ValidationException``, ``ConditionalCheckFailedException``, ``AccessDenied``). A handler raises
``shardsafe.RetryableError`` for failures it knows to be transient. :func:`is_transient` never raises.
"""

from __future__ import annotations

import errno
import sys

TRANSIENT_ERRNOS = frozenset(
    {
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.ENETRESET,
        errno.EHOSTDOWN,
        errno.EHOSTUNREACH,
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
    }
)
"""``OSError`` errnos for a network or host that is down, unreachable or refusing, or a connection that
was reset, dropped or timed out."""

TRANSIENT_TYPE_NAMES = frozenset(
    {
        "botocore.ConnectionError",
        "botocore.HTTPClientError",
        "requests.ConnectionError",
        "requests.Timeout",
        "urllib3.TimeoutError",
        "urllib3.ProtocolError",
        "urllib3.ProxyError",
        "httpx.TimeoutException",
        "httpx.NetworkError",
        "httpx.RemoteProtocolError",
        "httpx.ProxyError",
        "httpcore.TimeoutException",
        "httpcore.NetworkError",
        "httpcore.RemoteProtocolError",
        "httpcore.ProxyError",
        "botocore.IncompleteReadError",
        "requests.ChunkedEncodingError",
        "requests.RetryError",
        "urllib3.ResponseError",
        "aiohttp.ServerDisconnectedError",
        "aiohttp.ClientPayloadError",
        "http.IncompleteRead",
        "ssl.SSLEOFError",
        "ssl.SSLZeroReturnError",
        "asyncio.IncompleteReadError",
    }
)
"""Library exception classes, as ``<top-level package of __module__>.<__name__>``; subclasses match too."""

THROTTLING_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
"""AWS error codes for throttling: botocore's ``ThrottledRetryableChecker._THROTTLED_ERROR_CODES``."""

TRANSIENT_ERROR_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalError",
    }
)
"""AWS error codes for a failure on AWS's side: botocore's transient codes plus the 5xx common errors."""

TRANSIENT_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses of an AWS error response worth retrying: botocore's transient statuses and 429."""

TRANSIENT_HTTP_STATUSES = frozenset({408, 429, 502, 503, 504})
"""HTTP statuses raised by urllib, requests, httpx or aiohttp that say the server or the path to it is busy
or away: retried. 500 is not (see the module's docstring)."""

#: The HTTP error classes of those clients, and where each keeps the status: on the exception, or on
#: its ``response``.
_HTTP_STATUS_ERRORS = {
    "urllib.HTTPError": ("code", None),
    "requests.HTTPError": ("response", "status_code"),
    "httpx.HTTPStatusError": ("response", "status_code"),
    "aiohttp.ClientResponseError": ("status", None),
}

MAX_CAUSE_DEPTH = 5
"""How many causes down :func:`is_transient` looks; a bound, not a limit anyone should meet."""


def is_transient(error: BaseException) -> bool:
    """True for connection errors, timeouts, AWS throttling and 5xx errors, and busy or unavailable HTTP
    statuses."""
    current: BaseException | None = error
    for _ in range(1 + MAX_CAUSE_DEPTH):
        if current is None:
            return False
        if _is_transient_itself(current):
            return True
        current = _cause(current)
    return False


def _is_transient_itself(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if (
        isinstance(error, OSError)
        and isinstance(error.errno, int)
        and (error.errno in TRANSIENT_ERRNOS or _is_eai_again(error))
    ):
        return True
    for cls in type(error).__mro__:
        module = cls.__module__
        if not isinstance(module, str):
            continue
        name = f"{module.partition('.')[0]}.{cls.__name__}"
        if name in TRANSIENT_TYPE_NAMES:
            return True
        where = _HTTP_STATUS_ERRORS.get(name)
        if where is not None:
            return _http_status(error, *where) in TRANSIENT_HTTP_STATUSES
    return _is_transient_aws_response(error)


def _is_eai_again(error: OSError) -> bool:
    """A ``socket.gaierror`` for a name server that did not answer (``EAI_AGAIN``)."""
    socket = sys.modules.get("socket")  # no gaierror without the socket module loaded
    return socket is not None and isinstance(error, socket.gaierror) and error.errno == socket.EAI_AGAIN


def _http_status(error: BaseException, attribute: str, inner: str | None) -> object:
    try:
        value = getattr(error, attribute, None)
        if inner is not None:
            value = getattr(value, inner, None)
        if value is None and attribute == "status":  # aiohttp before 3.7 called it ``code``
            value = getattr(error, "code", None)
    except Exception:  # a broken property is no status
        return None
    return value if type(value) is int else None


def _is_transient_aws_response(error: BaseException) -> bool:
    """The duck-typed check of a botocore ``ClientError``: its error code, then its HTTP status."""
    try:
        response = getattr(error, "response", None)
        if not isinstance(response, dict):
            return False
        details = response.get("Error")
        code = details.get("Code") if isinstance(details, dict) else None
        if code in THROTTLING_ERROR_CODES or code in TRANSIENT_ERROR_CODES:
            return True
        metadata = response.get("ResponseMetadata")
        status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
        return status in TRANSIENT_STATUS_CODES
    except Exception:  # a broken ``response`` property, or an unhashable code or status, is not transient
        return False


def _cause(error: BaseException) -> BaseException | None:
    """The exception ``error`` wraps: ``__cause__``, else an exception in ``reason`` (``URLError``)."""
    if error.__cause__ is not None:
        return error.__cause__
    try:
        reason = getattr(error, "reason", None)
    except Exception:  # a broken ``reason`` property means no cause, not a crash
        return None
    return reason if isinstance(reason, BaseException) else None
