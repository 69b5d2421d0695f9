"""The quarantine sink contract (shardsafe.core.quarantine.sink): failures by position, answers checked,
reasons bounded, and the documented custom sink working as documented."""

from __future__ import annotations

import dataclasses
import json
import runpy
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from shardsafe_harness import paths

from shardsafe import StreamProcessor, reasons
from shardsafe.core.quarantine.envelope import Envelope, parse_envelope, parse_log_fallback
from shardsafe.core.quarantine.memory import MemoryQuarantine
from shardsafe.core.telemetry import logs
from tests import factories

PAYLOADS = [b"bad-0", b"bad-1", b"bad-2", b"bad-3"]


def kept_in_log(lines: list[dict[str, Any]]) -> list[bytes]:
    """The payloads of the envelopes the log keeps, put back together as an operator would."""
    fallbacks = [line for line in lines if line.get("event") == logs.QUARANTINE_FALLBACK]
    payloads = []
    for document in logs.reassemble(fallbacks, "payload_base64"):
        envelope = parse_log_fallback(document)
        assert envelope is not None, f"a log line that no longer says which record it holds: {document}"
        payloads.append(envelope.payload_bytes() or b"")
    return sorted(payloads)


class CopyingSink(MemoryQuarantine):
    """Reports the odd envelopes as copies it made (``dataclasses.replace``), by position."""

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        copies = [dataclasses.replace(envelope) for envelope in envelopes]
        self.envelopes.extend(copies[::2])
        return [(position, "copied, not sent") for position in range(1, len(copies), 2)]


def test_a_sink_that_copies_envelopes_loses_none_of_those_it_did_not_send(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    sink = CopyingSink()
    result = StreamProcessor(quarantine=sink, metrics=False).process(factories.kinesis_event(PAYLOADS))
    assert [e.payload_bytes() for e in sink.envelopes] == [b"bad-0", b"bad-2"]
    assert kept_in_log(log_lines()) == [b"bad-1", b"bad-3"]
    assert result.undelivered == 2


class Answers(MemoryQuarantine):
    """Takes every envelope, then answers ``answer(envelopes)``."""

    def __init__(self, answer: Callable[[Sequence[Envelope]], Any]) -> None:
        super().__init__()
        self.answer = answer

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> Any:
        self.envelopes.extend(envelopes)
        return self.answer(envelopes)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            lambda envelopes: [(e, "not sent") for e in envelopes[1:2]], id="envelopes-not-positions"
        ),
        pytest.param(lambda envelopes: [(len(envelopes), "not sent")], id="a-position-out-of-range"),
        pytest.param(lambda envelopes: [(-1, "not sent")], id="a-negative-position"),
        pytest.param(lambda envelopes: [(True, "not sent")], id="a-bool-for-a-position"),
        pytest.param(lambda envelopes: None, id="none"),
        pytest.param(lambda envelopes: 3, id="a-number"),
        pytest.param(lambda envelopes: ["not sent"], id="a-list-of-strings"),
    ],
)
def test_an_answer_other_than_the_contract_keeps_every_envelope_elsewhere_too(
    answer: Callable[[Sequence[Envelope]], Any], log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """What the sink meant cannot be known: every envelope is kept in the log as well (a duplicate, not a loss)."""
    result = StreamProcessor(quarantine=Answers(answer), metrics=False).process(
        factories.kinesis_event(PAYLOADS)
    )
    assert kept_in_log(log_lines()) == sorted(PAYLOADS)
    assert result.undelivered == len(PAYLOADS)


class Raising(MemoryQuarantine):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        raise RuntimeError(self.message)


class Refusing(MemoryQuarantine):
    def __init__(self, why: str) -> None:
        super().__init__()
        self.why = why

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, self.why) for position in range(len(envelopes))]


@pytest.mark.parametrize("sink", [Raising("x" * 600_000), Refusing("y" * 600_000)], ids=["raises", "refuses"])
def test_a_sinks_huge_reason_leaves_every_envelope_reassemblable(
    sink: MemoryQuarantine, capsys: pytest.CaptureFixture[str]
) -> None:
    payloads = [b"\xff" + bytes(range(256)) * 300, b"\xfe short"]
    StreamProcessor(quarantine=sink, metrics=False).process(factories.kinesis_event(payloads))
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line.encode()) <= logs.MAX_LINE_BYTES for line in lines)
    assert kept_in_log([json.loads(line) for line in lines]) == sorted(payloads)


def test_the_documented_custom_sink_works_as_documented(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    snippet = runpy.run_path(str(paths.SNIPPETS / "custom_sink.py"))
    sink, processor = snippet["sink"], snippet["processor"]
    event = factories.kinesis_event([b"{oops", b"\xff\xfe", factories.tick("A")])
    assert processor(event) == {"batchItemFailures": []}
    [kept] = [parse_envelope(body) for body in sink.kept]
    assert kept is not None and (kept.reason, kept.payload_bytes()) == (reasons.INVALID_JSON, b"{oops")
    assert kept_in_log(log_lines()) == [b"\xff\xfe"]  # the reason the sink refuses: in the log, whole


def test_a_sink_whose_client_is_not_ready_in_time_leaves_its_envelopes_to_the_log(
    monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """Creating the default sink's client (importing boto3) counts against the deadline: a client not ready
    when a call must start sends nothing, and the log keeps every envelope, whole."""
    import threading

    from shardsafe.core.quarantine.sqs import SqsQuarantine

    class Sqs:
        sent = 0

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            Sqs.sent += len(Entries)
            return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    released = threading.Event()  # the client is made once this is set, or after 10 s: it is never waited for
    monkeypatch.setattr(SqsQuarantine, "_make_client", lambda self, target: (released.wait(10), Sqs())[1])
    monkeypatch.setenv("SHARDSAFE_QUARANTINE_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/q")
    monkeypatch.delenv("SHARDSAFE_CLAIM_CHECK_BUCKET", raising=False)
    try:
        processor = StreamProcessor(metrics=False)
        result = processor.process(
            factories.kinesis_event(PAYLOADS), factories.FakeContext(remaining_ms=4000)
        )
    finally:
        released.set()
    assert result.undelivered == len(PAYLOADS) and Sqs.sent == 0
    lines = log_lines()
    assert kept_in_log(lines) == sorted(PAYLOADS)
    whys = {line["why"] for line in lines if line.get("event") == logs.QUARANTINE_FALLBACK}
    assert whys == {"the SQS client was not ready in time (it is being created for the next batch)"}
