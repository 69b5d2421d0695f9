"""The claim-check store and the quarantine queue's limit, from the environment."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest

from shardsafe import SqsQuarantine
from shardsafe.core.errors import ConfigurationError
from shardsafe.core.quarantine.claimcheck import ClaimCheck, ClaimCheckError, S3ClaimCheck, object_key
from shardsafe.core.quarantine.sqs import max_message_bytes_from_environment


class FakeS3:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error = error

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {}


def test_put_writes_under_the_prefix_with_s3s_own_sha256_check() -> None:
    client = FakeS3()
    body = b"\x00record bytes\xff"
    sha256 = hashlib.sha256(body).hexdigest()
    where = S3ClaimCheck("failures", "claim-checks/", client=client).put("payloads/k", body, sha256=sha256)
    assert where == ClaimCheck("failures", "claim-checks/payloads/k")
    [call] = client.calls
    assert (call["Bucket"], call["Key"], call["Body"]) == ("failures", "claim-checks/payloads/k", body)
    assert base64.b64decode(call["ChecksumSHA256"]) == hashlib.sha256(body).digest()
    assert call["Metadata"] == {"sha256": sha256}


def test_a_failed_put_says_where_and_why() -> None:
    store = S3ClaimCheck("failures", client=FakeS3(RuntimeError("AccessDenied")))
    with pytest.raises(ClaimCheckError, match=r"s3://failures/claim-checks/k .*AccessDenied"):
        store.put("k", b"x", sha256=hashlib.sha256(b"x").hexdigest())


def test_no_put_starts_without_time_to_finish() -> None:
    client = FakeS3()
    store = S3ClaimCheck("failures", client=client)
    with pytest.raises(ClaimCheckError, match="no time left"):
        store.put("k", b"x", sha256="00", deadline=time.monotonic() + 0.5)
    assert client.calls == []


def test_keys_are_per_day_invocation_and_position() -> None:
    key = object_key("payloads/", "2026-11-30T18:00:00.000Z", "req-1", 7, "ab" * 32)
    assert key == f"payloads/2026/11/30/req-1/7-{'ab' * 32}"


def test_the_store_and_the_limit_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHARDSAFE_CLAIM_CHECK_BUCKET", raising=False)
    monkeypatch.delenv("SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", raising=False)
    default = SqsQuarantine("https://sqs.us-east-1.amazonaws.com/1/q")
    assert default.claim_checks is None and default.max_message_bytes == 1_048_576
    monkeypatch.setenv("SHARDSAFE_CLAIM_CHECK_BUCKET", "failures")
    monkeypatch.setenv("SHARDSAFE_CLAIM_CHECK_PREFIX", "cc/")
    monkeypatch.setenv("SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", "262144")
    configured = SqsQuarantine("https://sqs.us-east-1.amazonaws.com/1/q")
    assert isinstance(configured.claim_checks, S3ClaimCheck)
    assert (configured.claim_checks.bucket, configured.claim_checks.prefix) == ("failures", "cc/")
    assert configured.max_message_bytes == 262_144


@pytest.mark.parametrize("value", ["abc", "0", "1023", "1048577", "1.5"])
def test_a_wrong_limit_is_refused_with_the_value_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", value)
    with pytest.raises(
        ConfigurationError, match=rf"SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES='{value}'.*1024 to 1048576"
    ):
        max_message_bytes_from_environment()
