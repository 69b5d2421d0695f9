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

What counts, and where each list comes from:

1. The builtin ``ConnectionError`` and its subclasses (``ConnectionResetError``,
   ``BrokenPipeError``, ``ConnectionRefusedError``, ``ConnectionAbortedError``,
   ``http.client.RemoteDisconnected``), and ``TimeoutError`` (``socket.timeout``,
   ``asyncio.TimeoutError`` and ``concurrent.futures.TimeoutError`` are aliases of it).
2. An ``OSError`` whose errno is in :data:`TRANSIENT_ERRNOS`: the network or host is down or
   unreachable (Python maps no subclass to these). Any other ``OSError`` is not transient:
   ``FileNotFoundError`` or ``PermissionError`` fail the same way on every retry, and ``OSError``
   is also the base of every ``requests`` exception, ``requests.JSONDecodeError`` included.
3. A class in :data:`TRANSIENT_TYPE_NAMES` anywhere in the exception's MRO, named
   ``<top-level package>.<class name>``:

   - botocore: ``ConnectionError`` and ``HTTPClientError``, the classes that botocore's standard
     retry mode retries (``TransientRetryableChecker._TRANSIENT_EXCEPTION_CLS`` in
     ``botocore/retries/standard.py``). In ``botocore/exceptions.py`` they cover
     ``EndpointConnectionError``, ``ConnectTimeoutError``, ``ProxyConnectionError``,
     ``SSLError``, ``ReadTimeoutError``, ``ConnectionClosedError`` and ``ResponseStreamingError``.
   - requests: ``ConnectionError`` and ``Timeout`` (``requests/exceptions.py``; they cover
     ``ConnectTimeout``, ``ReadTimeout``, ``ProxyError`` and ``SSLError``). Neither is a builtin
     ``ConnectionError``.
   - urllib3: ``TimeoutError`` (``ConnectTimeoutError``, ``ReadTimeoutError``,
     ``NewConnectionError``, ``NameResolutionError``), ``ProtocolError`` (the connection was
     aborted or broken mid-response; urllib3's own ``Retry`` counts it as a read error) and
     ``ProxyError`` (``urllib3/exceptions.py``).
   - httpx and httpcore: ``TimeoutException`` (connect, read, write and pool timeouts) and
     ``NetworkError`` (``ConnectError``, ``ReadError``, ``WriteError``, ``CloseError``), from
     ``httpx/_exceptions.py``. Not ``ProtocolError``, which also covers a request httpx refuses
     to send.

4. An AWS error response: an exception whose ``response`` is a dict shaped like the one botocore's
   ``ClientError`` carries, with ``["Error"]["Code"]`` in :data:`THROTTLING_ERROR_CODES` or
   :data:`TRANSIENT_ERROR_CODES`, or ``["ResponseMetadata"]["HTTPStatusCode"]`` in
   :data:`TRANSIENT_STATUS_CODES`:

   - :data:`THROTTLING_ERROR_CODES` is ``ThrottledRetryableChecker._THROTTLED_ERROR_CODES`` in
     ``botocore/retries/standard.py``, as is.
   - :data:`TRANSIENT_ERROR_CODES` is ``TransientRetryableChecker._TRANSIENT_ERROR_CODES`` there,
     plus ``InternalFailure`` (500) and ``ServiceUnavailable`` (503) from the "Common Errors" page
     of the AWS API references, and S3's ``InternalError`` (500; "Amazon S3 error best
     practices": retry InternalErrors). These come with a 5xx status anyway; the codes also
     catch an error rebuilt without ``ResponseMetadata``.
   - :data:`TRANSIENT_STATUS_CODES` is ``TransientRetryableChecker._TRANSIENT_STATUS_CODES``
     (500, 502, 503, 504), plus 429 Too Many Requests (botocore's legacy retry mode,
     ``too_many_requests`` in ``botocore/data/_retry.json``).

   Not covered: errors a service model marks retryable (botocore's ``ModeledRetryableChecker``),
   since the exception does not carry the model.

5. An exception caused by a transient one, up to :data:`MAX_CAUSE_DEPTH` links down: wrapping is
   common (``raise OutputUnavailable(...) from client_error``). A link is ``__cause__`` (``raise
   ... from ...``), or failing that a ``reason`` attribute holding an exception, which is how
   ``urllib.error.URLError`` carries the socket error. The implicit ``__context__`` is not
   followed: an exception raised while handling a timeout is not thereby caused by it (a bug in an
   ``except`` block must still quarantine).

Anything else is not transient, including a ``ClientError`` with another code
(``ValidationException``, ``ConditionalCheckFailedException``, ``AccessDenied``) and an HTTP error
status raised by requests, httpx or urllib: a third-party API can answer 500 to one bad payload
every time, and retrying a poison record stalls its shard. A handler raises
``shardsafe.RetryableError`` for those it knows to be transient. :func:`is_transient` never raises.
"""

from __future__ import annotations

import errno

TRANSIENT_ERRNOS = frozenset({errno.ENETDOWN, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EHOSTUNREACH})
"""``OSError`` errnos for a network or host that is down or unreachable."""

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
        "httpcore.TimeoutException",
        "httpcore.NetworkError",
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

MAX_CAUSE_DEPTH = 5
"""How many causes down :func:`is_transient` looks; a bound, not a limit anyone should meet."""


def is_transient(error: BaseException) -> bool:
    """True for connection errors, timeouts, and AWS throttling and 5xx errors."""
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
    if isinstance(error, OSError) and isinstance(error.errno, int) and error.errno in TRANSIENT_ERRNOS:
        return True
    for cls in type(error).__mro__:
        module = cls.__module__
        if isinstance(module, str) and f"{module.partition('.')[0]}.{cls.__name__}" in TRANSIENT_TYPE_NAMES:
            return True
    return _is_transient_aws_response(error)


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
