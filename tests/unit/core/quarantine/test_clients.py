"""Creating a sink's client counts against the deadline: made on its own thread, waited for only until a call must start."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from shardsafe import SqsQuarantine, build_envelope, reasons
from shardsafe.core.quarantine import claimcheck
from shardsafe.core.quarantine.claimcheck import ClaimCheckError, S3ClaimCheck
from shardsafe.core.quarantine.clients import ClientMaker
from shardsafe.core.quarantine.sqs import CALL_SECONDS

#: How long a blocked client creation waits to be let go: long past any deadline here, short enough that
#: a sink that waits for it (the breakage these tests guard against) fails the test instead of hanging it.
BLOCKED_SECONDS = 10


class SlowClient:
    """A client whose creation blocks until ``release()`` (importing boto3 on a slow, cold function)."""

    def __init__(self, client: Any = None, error: Exception | None = None) -> None:
        self.released = threading.Event()
        self.made = 0
        self.client = client if client is not None else object()
        self.error = error

    def make(self, *args: Any) -> Any:
        self.made += 1
        self.released.wait(BLOCKED_SECONDS)
        if self.error is not None:
            raise self.error
        return self.client

    def release(self) -> None:
        self.released.set()


def test_a_client_not_ready_by_the_deadline_is_not_waited_for_and_is_kept_for_later() -> None:
    slow = SlowClient()
    maker = ClientMaker(slow.make, "the test client")
    client, why = maker.get(time.monotonic() + 0.05)
    assert client is None and "was not ready in time" in why
    slow.release()
    assert maker.get(None) == (slow.client, "")
    assert maker.get(time.monotonic() - 1) == (slow.client, "")  # made: no time is needed any more
    assert slow.made == 1


def test_with_no_time_left_the_client_is_still_started_for_the_next_batch() -> None:
    slow = SlowClient()
    slow.release()
    maker = ClientMaker(slow.make, "the test client")
    client, why = maker.get(time.monotonic() - 1)
    assert client is None and "no time left" in why
    assert maker.get(None) == (slow.client, "")


def test_a_client_that_cannot_be_made_says_why_and_is_tried_again() -> None:
    slow = SlowClient(error=RuntimeError("no region"))
    slow.release()
    maker = ClientMaker(slow.make, "the test client")
    client, why = maker.get(None)
    assert client is None and "cannot create the test client: RuntimeError('no region')" in why
    slow.error = None
    assert maker.get(None) == (slow.client, "")
    assert slow.made == 2


class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent += [entry["MessageBody"] for entry in Entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


def test_the_sqs_sink_sends_nothing_rather_than_wait_past_the_deadline_for_its_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's case: the default sink imported boto3 and built its client (0.4 s cold), then sent, past
    the deadline. Now it waits for the client only until a call must start."""
    sqs = FakeSqs()
    slow = SlowClient(sqs)
    monkeypatch.setattr(SqsQuarantine, "_make_client", lambda self, target: slow.make())
    sink = SqsQuarantine(
        "https://sqs.us-east-1.amazonaws.com/000000000000/q", base_delay=0.0, claim_checks=None
    )
    envelope = build_envelope(reason=reasons.INVALID_JSON, payload=b"{x", record={})
    deadline = time.monotonic() + CALL_SECONDS + 0.05
    answer = sink.send([envelope], deadline)
    assert [(position, "was not ready in time" in why) for position, why in answer] == [(0, True)]
    assert sqs.sent == []
    slow.release()
    assert sink.send([envelope], None) == [] and len(sqs.sent) == 1  # the same client, made once
    assert slow.made == 1


def test_the_claim_check_store_does_not_wait_past_the_deadline_for_its_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FakeS3:
        def __init__(self) -> None:
            self.keys: list[str] = []

        def put_object(self, **request: Any) -> None:
            self.keys.append(request["Key"])

    s3 = FakeS3()
    slow = SlowClient(s3)
    monkeypatch.setattr(claimcheck, "_make_client", slow.make)
    store = S3ClaimCheck("bucket")
    with pytest.raises(ClaimCheckError, match="not tried: the S3 client was not ready in time"):
        store.put("k", b"x", sha256="00", deadline=time.monotonic() + claimcheck.CALL_SECONDS + 0.05)
    slow.release()
    store.put("k", b"x", sha256="00", deadline=None)
    assert s3.keys == ["claim-checks/k"] and slow.made == 1
