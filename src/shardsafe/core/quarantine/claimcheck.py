"""Claim checks: a poison record too big for a quarantine message is kept whole in S3.

SQS takes messages up to the queue's ``MaximumMessageSize`` (1 MiB for queues created since
2025, 256 KiB for older ones). A record whose envelope would not fit is written to S3 first, and
the envelope sent to the queue carries where it is instead of the bytes::

    "payload": {"size": 900000, "sha256": "<hex>", "s3": {"bucket": "...", "key": "..."}}

The object holds the record's bytes exactly as the envelope's ``base64`` would have (so
``aws s3 cp`` gives the record back), with the sha256 as S3's own checksum (S3 refuses an upload
whose bytes do not match it) and in the object's metadata.

When the queue cannot be reached, the same store keeps the whole envelope
(``<prefix>envelopes/...json``), so a record is kept in S3 rather than only in the log.

Why not the SQS Extended Client's pointer (``["software.amazon.payloadoffloading.PayloadS3Pointer",
{"s3BucketName", "s3Key"}]``)? It replaces the whole message body with the pointer and stores the
body, not the record: a reader without the library would see neither the reason nor the
coordinates, and the object would be a JSON envelope with the record in base64, not the record.
The envelope keeps both readable and points at the record's own bytes.

Configuration: ``SHARDSAFE_CLAIM_CHECK_BUCKET`` (no claim checks when unset) and
``SHARDSAFE_CLAIM_CHECK_PREFIX`` (default ``claim-checks/``); the Terraform module sets both and
lets the function write under that prefix only.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from shardsafe.core.errors import ConfigurationError
from shardsafe.core.quarantine.clients import ClientMaker

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BUCKET_ENV = "SHARDSAFE_CLAIM_CHECK_BUCKET"
PREFIX_ENV = "SHARDSAFE_CLAIM_CHECK_PREFIX"
DEFAULT_PREFIX = "claim-checks/"
PAYLOADS = "payloads/"
ENVELOPES = "envelopes/"
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 5.0  # an upload of up to a few MiB
#: The longest one PutObject call can take: an upload starts only if this much time is left.
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT


@dataclass(frozen=True)
class ClaimCheck:
    """Where a record's bytes are kept: an S3 bucket and key."""

    bucket: str
    key: str

    def to_dict(self) -> dict[str, str]:
        return {"bucket": self.bucket, "key": self.key}


class ClaimCheckError(Exception):
    """An object could not be written; the message says why (the caller logs the record instead)."""


def object_key(kind: str, quarantined_at: str, request_id: str | None, index: int, sha256: str) -> str:
    """``<kind>YYYY/MM/DD/<request id>/<batch index>-<sha256>`` (the store adds its prefix): one object
    per quarantined record and invocation, found by day, never overwriting another record's."""
    day = quarantined_at[:10].replace("-", "/") if len(quarantined_at) >= 10 else "undated"
    return f"{kind}{day}/{request_id or 'no-request-id'}/{index}-{sha256}"


class S3ClaimCheck:
    """Writes claim-check objects to S3 with ``PutObject``, one try per call within the deadline.

    The bucket and prefix default to ``SHARDSAFE_CLAIM_CHECK_BUCKET`` and
    ``SHARDSAFE_CLAIM_CHECK_PREFIX``; the boto3 client is made on first use, on a thread of its own, and
    waited for only until an upload must start to end by the deadline
    (:class:`~shardsafe.core.quarantine.clients.ClientMaker`).
    """

    def __init__(self, bucket: str, prefix: str = DEFAULT_PREFIX, *, client: Any = None) -> None:
        if not bucket:
            raise ConfigurationError(f"claim-check bucket {bucket!r}: give an S3 bucket name")
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._maker: ClientMaker | None = None

    @classmethod
    def from_environment(cls) -> S3ClaimCheck | None:
        """The store the environment names, or None when ``SHARDSAFE_CLAIM_CHECK_BUCKET`` is unset."""
        bucket = os.environ.get(BUCKET_ENV, "").strip()
        if not bucket:
            return None
        return cls(bucket, os.environ.get(PREFIX_ENV, DEFAULT_PREFIX))

    def put(self, key: str, body: bytes, *, sha256: str, deadline: float | None = None) -> ClaimCheck:
        """Write ``body`` under ``prefix + key``; raise :class:`ClaimCheckError` if it is not written."""
        if deadline is not None and time.monotonic() + CALL_SECONDS > deadline:
            raise ClaimCheckError("the invocation had no time left to write it to S3")
        full_key = self.prefix + key
        if self._client is None:
            if self._maker is None:
                self._maker = ClientMaker(_make_client, "the S3 client")
            client, why = self._maker.get(None if deadline is None else deadline - CALL_SECONDS)
            if client is None:
                raise ClaimCheckError(f"PutObject s3://{self.bucket}/{full_key} not tried: {why}")
            self._client = client
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=body,
                ContentType="application/octet-stream",
                ChecksumSHA256=_base64_digest(sha256),
                Metadata={"sha256": sha256},
            )
        except Exception as error:
            raise ClaimCheckError(f"PutObject s3://{self.bucket}/{full_key} failed: {error!r}") from error
        return ClaimCheck(self.bucket, full_key)


class MemoryClaimCheck:
    """Keeps objects in ``objects`` (key -> bytes): an injectable store for tests and benchmarks."""

    def __init__(self, bucket: str = "memory", prefix: str = DEFAULT_PREFIX) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, body: bytes, *, sha256: str, deadline: float | None = None) -> ClaimCheck:
        if hashlib.sha256(body).hexdigest() != sha256:
            raise ClaimCheckError(f"the body of {key} does not match its sha256 {sha256}")
        self.objects[self.prefix + key] = bytes(body)
        return ClaimCheck(self.bucket, self.prefix + key)


def _base64_digest(sha256_hex: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _make_client() -> Any:
    import boto3  # type: ignore[import-untyped]  # lazy: only a record too big for the queue pays for it
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},  # bounded by CALL_SECONDS
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )
    return boto3.client("s3", config=config)
