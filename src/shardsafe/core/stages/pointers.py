"""Large-message pointers: an SQS body that the extended client left in S3 is read from there before decoding.

Producers that use the SQS or SNS extended client (Java's ``amazon-sqs-java-extended-client-lib`` and
the payload-offloading library, Python's ``amazon-sqs-extended-client``) put a large payload in S3 and
send a pointer in its place, with the payload's size in the ``ExtendedPayloadSize`` message attribute
(``SQSLargePayloadSize`` for the legacy clients). A pointer is, as the body of an SQS message (or of an
SNS message delivered raw), or as the ``Message`` of an SNS notification delivered through SQS:

- ``["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": ..., "s3Key": ...}]``, or
  the legacy class ``com.amazon.sqs.javamessaging.MessageS3Pointer``; any package prefix is accepted
  (a class name ending in ``.PayloadS3Pointer`` or ``.MessageS3Pointer``);
- the legacy bare object ``{"s3BucketName": ..., "s3Key": ...}``, taken as a pointer only when the
  message carries a size attribute, as the legacy clients always send one: an ordinary message that
  names an S3 object for the handler to work on is not fetched in its place.

The object's bytes are what the decoder then reads (for a wrapped SNS notification, the notification
with its ``Message`` replaced by the payload's text), so the handler sees the payload as if it had been
sent inline. What is quarantined, and what redrive sends again, is the body as delivered: the pointer.

- The object may be at most the decode limits' ``max_inflated_bytes``, and must be as long as the size
  attribute says: over, ``too_large``; different, ``pointer_unreadable``.
- A missing object (or bucket) is ``pointer_not_found``; a bucket not in
  ``SHARDSAFE_LARGE_MESSAGE_BUCKETS`` (comma-separated, set by the Terraform module to the buckets the
  function may read) is ``pointer_refused``, before any call; any other S3 refusal (access denied, a key
  it cannot use) is ``pointer_unreadable``.
- S3 unreachable, timing out, throttling or failing on its side is retryable (as the processor's policy
  says): the message is handed back, and Lambda delivers it again.

``StreamProcessor(large_messages=False)`` turns this off: the handler then gets pointers as they are.
The check costs an SQS record one ``bytes.startswith`` and, for a body starting with ``[`` or ``{``, a
substring search; boto3 is imported with the first pointer.
"""

from __future__ import annotations

import json
import os

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeGuard

    from shardsafe.core.sources.base import Source
    from shardsafe.core.stages.decode import DecodeLimits

#: Set by the Terraform module: the buckets (comma-separated) the function may read pointers from.
BUCKETS_ENV = "SHARDSAFE_LARGE_MESSAGE_BUCKETS"
#: The message attributes that carry the payload's size: the current clients', then the legacy ones'.
SIZE_ATTRIBUTES = ("ExtendedPayloadSize", "SQSLargePayloadSize")
#: The pointer classes, by the end of their names (any package prefix).
POINTER_CLASSES = (".PayloadS3Pointer", ".MessageS3Pointer")
#: S3's answers for an object or bucket that is not there.
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 30.0

_ARRAY, _OBJECT = ord("["), ord("{")


class Pointer:
    """Where a large payload is, and the size its message says it has (None if it says none)."""

    __slots__ = ("bucket", "key", "size")

    def __init__(self, bucket: str, key: str, size: int | None) -> None:
        self.bucket, self.key, self.size = bucket, key, size

    def __repr__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def allowed_buckets(environ: dict[str, str] | None = None) -> frozenset[str] | None:
    """The buckets ``SHARDSAFE_LARGE_MESSAGE_BUCKETS`` lists; None when it is not set (any bucket)."""
    value = (os.environ if environ is None else environ).get(BUCKETS_ENV)
    if value is None:
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def pointer_stage(
    limits: DecodeLimits,
    is_retryable: Callable[[BaseException], bool],
    buckets: frozenset[str] | None = None,
    client: Callable[[], Any] | None = None,
) -> Callable[[bytes, Any, Source], bytes]:
    """``resolve(payload, raw, source) -> bytes``: the payload, or the object its pointer names."""
    max_bytes = limits.max_inflated_bytes
    made: list[Any] = []

    def s3() -> Any:
        if not made:
            made.append((client or _make_client)())
        return made[0]

    def resolve(payload: bytes, raw: Any, source: Source) -> bytes:
        if not payload or (first := payload[0]) not in (_ARRAY, _OBJECT):
            return payload
        if (b"S3Pointer" if first == _ARRAY else b"s3BucketName") not in payload:
            return payload  # the common case: no pointer, one search (a wrapped SNS pointer has both words)
        found = find_pointer(payload, raw, source)
        if found is None:
            return payload
        pointer, wrapped = found
        content = fetch(pointer, s3, max_bytes, buckets, is_retryable)
        if wrapped is None:
            return content
        try:
            text = content.decode()
        except UnicodeDecodeError as error:
            raise Rejection(reasons.INVALID_UTF8, f"the SNS message's payload {pointer!r}: {error}") from None
        return json.dumps({**wrapped, "Message": text}, ensure_ascii=False).encode()

    return resolve


def find_pointer(payload: bytes, raw: Any, source: Source) -> tuple[Pointer, dict[str, Any] | None] | None:
    """The pointer in a body, with the SNS notification around it if there is one; None for a body
    that is not a pointer. Rejection for one that names a pointer class but is not a pointer."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return None  # not JSON: the decoder says so, or the handler reads it as it is
    size = _size(source.message_attribute(raw, name) for name in SIZE_ATTRIBUTES)
    pointer = _pointer(body, size)
    if pointer is not None:
        return pointer, None
    if type(body) is dict and body.get("Type") == "Notification" and type(body.get("Message")) is str:
        try:
            message = json.loads(body["Message"])
        except (ValueError, RecursionError):
            return None
        attributes = body.get("MessageAttributes")
        attributes = attributes if type(attributes) is dict else {}
        size = _size(_sns_attribute(attributes, name) for name in SIZE_ATTRIBUTES)
        pointer = _pointer(message, size)
        if pointer is not None:
            return pointer, body
    return None


def _pointer(body: object, size: int | None) -> Pointer | None:
    if type(body) is list and len(body) == 2 and type(body[0]) is str and body[0].endswith(POINTER_CLASSES):
        location = body[1]
        if not _is_location(location):
            raise Rejection(
                reasons.POINTER_UNREADABLE,
                f"a {body[0]} without a string s3BucketName and s3Key: {json.dumps(location)[:200]}",
            )
        return Pointer(location["s3BucketName"], location["s3Key"], size)
    if size is not None and _is_location(body) and len(body) == 2:
        return Pointer(body["s3BucketName"], body["s3Key"], size)
    return None


def _is_location(value: object) -> TypeGuard[dict[str, Any]]:
    return (
        type(value) is dict
        and type(value.get("s3BucketName")) is str
        and type(value.get("s3Key")) is str
        and bool(value["s3BucketName"])
    )


def _size(values: Any) -> int | None:
    for value in values:
        if value is None:
            continue
        try:
            size = int(value)
        except (TypeError, ValueError):
            raise Rejection(
                reasons.POINTER_UNREADABLE, f"the payload size attribute is {str(value)[:40]!r}, not a number"
            ) from None
        return size
    return None


def _sns_attribute(attributes: dict[str, Any], name: str) -> str | None:
    attribute = attributes.get(name)
    value = attribute.get("Value") if type(attribute) is dict else None
    return value if type(value) is str else None


def fetch(
    pointer: Pointer,
    s3: Callable[[], Any],
    max_bytes: int,
    buckets: frozenset[str] | None,
    is_retryable: Callable[[BaseException], bool],
) -> bytes:
    """The object's bytes, at most ``max_bytes`` and as many as the pointer's size; Rejection otherwise.
    A retryable failure (S3 unreachable, throttled) is raised as it is."""
    if buckets is not None and pointer.bucket not in buckets:
        listed = ", ".join(sorted(buckets)) or "none"
        raise Rejection(
            reasons.POINTER_REFUSED,
            f"the pointer names bucket {pointer.bucket!r}, which {BUCKETS_ENV} does not list ({listed}): "
            "add it to the buckets the function may read large messages from (the Terraform module's setting)",
        )
    if pointer.size is not None and pointer.size > max_bytes:
        raise Rejection(reasons.TOO_LARGE, _too_large(pointer, pointer.size, max_bytes))
    try:
        response = s3().get_object(Bucket=pointer.bucket, Key=pointer.key)
        length = response.get("ContentLength")
        if isinstance(length, int) and length > max_bytes:
            response["Body"].close()
            raise Rejection(reasons.TOO_LARGE, _too_large(pointer, length, max_bytes))
        content: bytes = response["Body"].read(max_bytes + 1)
    except Rejection:
        raise
    except Exception as error:
        if _code(error) in NOT_FOUND_CODES:
            raise Rejection(reasons.POINTER_NOT_FOUND, f"{pointer!r} does not exist: {error}") from None
        if is_retryable(error):
            raise
        raise Rejection(reasons.POINTER_UNREADABLE, f"cannot read {pointer!r}: {error!r}") from None
    if len(content) > max_bytes:
        raise Rejection(reasons.TOO_LARGE, _too_large(pointer, len(content), max_bytes))
    if pointer.size is not None and len(content) != pointer.size:
        raise Rejection(
            reasons.POINTER_UNREADABLE,
            f"{pointer!r} holds {len(content):,} bytes, but the message says {pointer.size:,} "
            "(ExtendedPayloadSize): it is not the payload this message was sent with",
        )
    return content


def _too_large(pointer: Pointer, size: int, max_bytes: int) -> str:
    return (
        f"the payload at {pointer!r} is {size:,} bytes, more than {max_bytes:,} (max_inflated_bytes); "
        "give the function more memory, or pass decode_limits=DecodeLimits(...) to raise it"
    )


def _code(error: BaseException) -> object:
    """The AWS error code of a botocore ClientError, without importing botocore."""
    response = getattr(error, "response", None)
    details = response.get("Error") if isinstance(response, dict) else None
    return details.get("Code") if isinstance(details, dict) else None


def _make_client() -> Any:
    import boto3  # type: ignore[import-untyped]  # lazy: only a message with a pointer pays for it
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )
    return boto3.client("s3", config=config)
