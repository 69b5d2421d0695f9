"""Every poison kind is logged and quarantined with its payload, and the batch still succeeds."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import MemoryMetrics, MemoryQuarantine, StreamProcessor, parse_envelope, reasons
from shardsafe.core.sources import KinesisSource
from shardsafe.core.telemetry import logs
from tests import factories

POISON_LOG_KEYS = {
    "level",
    "event",
    "timestamp",
    "reason",
    "error_type",
    "error_message",
    "event_source",
    "stream_arn",
    "shard_id",
    "sequence_number",
    "sub_sequence_number",
    "partition_key",
    "message_id",
    "arrival_time",
    "batch_index",
    "size",
    "payload_sha256",
    "payload_preview",
    "payload_preview_truncated",
    "function_name",
    "request_id",
}


def fail_on_boom(record: Any) -> None:
    if record.data.get("boom"):
        raise KeyError("boom")


def processor(
    quarantine: MemoryQuarantine, metrics: MemoryMetrics | None = None, **options: Any
) -> StreamProcessor:
    options.setdefault("validate", {"EVENT_TIME": str, "TICKER": str, "PRICE": float})
    return StreamProcessor(fail_on_boom, quarantine=quarantine, metrics=metrics or MemoryMetrics(), **options)


POISON = [
    pytest.param(
        factories.kinesis_record(raw_data="%%% not base64 %%%"), reasons.BAD_BASE64, id="bad_base64"
    ),
    pytest.param(factories.kinesis_record(b"\xc3\x28 bad utf-8"), reasons.INVALID_UTF8, id="invalid_utf8"),
    pytest.param(
        factories.kinesis_record(b'{"TICKER": "AMZN", "PRI'), reasons.INVALID_JSON, id="truncated_json"
    ),
    pytest.param(factories.kinesis_record(b"[1, 2, 3]"), reasons.NOT_AN_OBJECT, id="json_array"),
    pytest.param(factories.kinesis_record(b'"just a string"'), reasons.NOT_AN_OBJECT, id="json_string"),
    pytest.param(factories.kinesis_record({"TICKER": "AMZN"}), reasons.VALIDATION_ERROR, id="validation"),
    pytest.param(
        factories.kinesis_record({**factories.tick(), "boom": 1}), reasons.HANDLER_ERROR, id="user_exception"
    ),
    pytest.param(factories.kinesis_record(b""), reasons.EMPTY, id="empty"),
    pytest.param(factories.kinesis_record(b"\x1f\x8b\x08\x00broken"), reasons.BAD_COMPRESSION, id="bad_gzip"),
    pytest.param({"eventSource": "aws:kinesis", "kinesis": {}}, reasons.MALFORMED_RECORD, id="no_data"),
]


@pytest.mark.parametrize(("poison", "reason"), POISON)
def test_poison_record_is_quarantined_and_batch_succeeds(
    poison: dict[str, Any],
    reason: str,
    quarantine: MemoryQuarantine,
    kinesis_event: Callable[..., dict[str, Any]],
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    good_before, good_after = factories.kinesis_record(sequence=10), factories.kinesis_record(sequence=12)
    event = kinesis_event([good_before, poison, good_after])
    result = processor(quarantine).process(event, factories.FakeContext())

    assert result.response == {"batchItemFailures": []}
    assert [record.raw for record in result.processed] == [good_before, good_after]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reason
    assert [line["reason"] for line in log_lines() if line["event"] == "shardsafe.poison"] == [reason]


def test_quarantined_payload_is_the_original_bytes(quarantine: MemoryQuarantine) -> None:
    payloads = [b"\xc3\x28", b'{"TICKER": ', gzip.compress(b"[1]"), bytes(range(256))]
    event = factories.kinesis_event(payloads)
    processor(quarantine).process(event)
    assert [envelope.payload_bytes() for envelope in quarantine.envelopes] == payloads
    assert [envelope.payload_sha256 for envelope in quarantine.envelopes] == [
        hashlib.sha256(payload).hexdigest() for payload in payloads
    ]


def test_undecodable_base64_is_quarantined_as_its_text(quarantine: MemoryQuarantine) -> None:
    processor(quarantine).process(factories.kinesis_event([factories.kinesis_record(raw_data="@@@@")]))
    assert quarantine.envelopes[0].payload_bytes() == b"@@@@"


def test_envelope_record_section_has_the_stream_coordinates(quarantine: MemoryQuarantine) -> None:
    event = factories.kinesis_event([b"nope"])
    processor(quarantine).process(event, factories.FakeContext())
    [envelope] = quarantine.envelopes
    assert envelope.record == {
        "eventSource": "aws:kinesis",
        "eventSourceArn": factories.STREAM_ARN,
        "shardId": factories.SHARD_ID,
        "sequenceNumber": str(factories.FIRST_SEQUENCE),
        "partitionKey": "AMZN",
        "approximateArrivalTimestamp": 1704067200.123,
    }
    assert (envelope.function_name, envelope.request_id) == (
        "shardsafe-test",
        factories.FakeContext().aws_request_id,
    )


def test_poison_log_line_has_stable_keys_and_a_base64_preview(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    payload = b"x" * 1000
    processor(quarantine).process(factories.kinesis_event([payload]), factories.FakeContext())
    [line] = [line for line in log_lines() if line["event"] == "shardsafe.poison"]
    assert set(line) == POISON_LOG_KEYS
    assert line["level"] == "ERROR"
    assert line["reason"] == "invalid_json"
    assert line["size"] == 1000
    assert base64.b64decode(line["payload_preview"]) == payload[:256]
    assert line["payload_preview_truncated"] is True
    assert line["arrival_time"] == "2024-01-01T00:00:00.123Z"
    assert line["shard_id"] == factories.SHARD_ID


def test_payload_preview_can_be_turned_off(
    quarantine: MemoryQuarantine,
    log_lines: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHARDSAFE_PAYLOAD_PREVIEW", "false")
    processor(quarantine).process(factories.kinesis_event([b"secret"]))
    [line] = [line for line in log_lines() if line["event"] == "shardsafe.poison"]
    assert line["payload_preview"] is None
    assert set(line) == POISON_LOG_KEYS
    assert "secret" not in str(line)


def test_oversized_payload_is_quarantined_by_sha256_and_coordinates(quarantine: MemoryQuarantine) -> None:
    payload = b"[" + b"1," * 400_000 + b"1]"  # 800 KB: over the SQS limit (1 MiB) once in base64
    processor(quarantine).process(factories.kinesis_event([payload]))
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.NOT_AN_OBJECT
    assert envelope.truncated
    assert envelope.payload_size == len(payload)
    assert envelope.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert envelope.record["sequenceNumber"] == str(factories.FIRST_SEQUENCE)
    assert envelope.record["shardId"] == factories.SHARD_ID


def test_summary_line_and_metrics_account_for_every_record(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    metrics = MemoryMetrics()
    event = factories.kinesis_event([factories.tick(), b"bad", factories.tick(), b"[]"])
    processor(quarantine, metrics).process(event, factories.FakeContext())
    [summary] = [line for line in log_lines() if line["event"] == "shardsafe.batch"]
    assert (summary["received"], summary["processed"], summary["quarantined"], summary["handed_back"]) == (
        4,
        2,
        2,
        0,
    )
    assert summary["accounting_ok"] is True
    assert summary["function_name"] == "shardsafe-test"
    [batch] = metrics.batches
    assert (batch["RecordsProcessed"], batch["RecordsQuarantined"], batch["RecordsHandedBack"]) == (2, 2, 0)


def test_a_clean_batch_logs_only_its_summary(
    quarantine: MemoryQuarantine, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    result = processor(quarantine).process(factories.kinesis_event(count=50))
    assert len(result.processed) == 50
    assert [line["event"] for line in log_lines()] == ["shardsafe.batch"]
    assert quarantine.envelopes == []


def test_poison_lines_are_the_text_emit_writes_for_their_fields(
    quarantine: MemoryQuarantine, capsys: pytest.CaptureFixture[str]
) -> None:
    """The poison line is written from a template; it must be what logs.emit makes of the same fields."""
    records = [param.values[0] for param in POISON] + [
        factories.kinesis_record(b"\x00" * 300, sequence=20),  # a preview cut at 256 bytes
        factories.kinesis_record('{"TICKER": "é中\\"'.encode(), sequence=21),  # non-ASCII and escapes
    ]
    capsys.readouterr()
    result = processor(quarantine).process({"Records": records}, factories.FakeContext())
    lines = [line for line in capsys.readouterr().out.splitlines() if '"event":"shardsafe.poison"' in line]
    assert len(lines) == len(result.quarantined) == len(records)
    for text in lines:
        fields = json.loads(text)
        head = {key: fields.pop(key) for key in ("level", "event", "timestamp")}
        logs.emit(logs.ERROR, head["event"], fields)
        rewritten = capsys.readouterr().out.rstrip("\n")
        written_at = json.loads(rewritten)["timestamp"]  # a moment later than the poison line
        assert (
            rewritten.replace(f'"timestamp":"{written_at}"', f'"timestamp":"{head["timestamp"]}"', 1) == text
        )


def test_a_kinesis_envelope_carries_the_records_own_base64(quarantine: MemoryQuarantine) -> None:
    poison = factories.kinesis_record(b'{"TICKER": "AMZN", "PRI')
    processor(quarantine).process(factories.kinesis_event([poison]))
    [envelope] = quarantine.envelopes
    assert envelope.payload_base64 == poison["kinesis"]["data"]
    assert parse_envelope(envelope.to_body()) == envelope  # its sha256 matches the bytes


def test_a_handler_that_changes_the_raw_record_does_not_change_what_is_quarantined(
    quarantine: MemoryQuarantine,
) -> None:
    payload = json.dumps({**factories.tick(), "boom": 1}).encode()

    def rewrite_then_fail(record: Any) -> None:
        record.raw["kinesis"]["data"] = base64.b64encode(b"x" * len(payload)).decode()  # same length
        raise ValueError("failed after rewriting raw")

    StreamProcessor(rewrite_then_fail, quarantine=quarantine).process(factories.kinesis_event([payload]))
    [envelope] = quarantine.envelopes
    assert envelope.payload_bytes() == payload
    assert envelope.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert parse_envelope(envelope.to_body()) == envelope


def test_a_poison_record_that_cannot_be_described_is_still_logged_in_full(
    quarantine: MemoryQuarantine,
    log_lines: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: Any, raw: Any) -> dict[str, Any]:
        raise RuntimeError("describe broke")

    monkeypatch.setattr(KinesisSource, "describe", broken)
    poison = factories.kinesis_record(b'{"TICKER": "AMZN", "PRI')
    result = processor(quarantine).process(factories.kinesis_event([poison]))
    lines = log_lines()
    [line] = [line for line in lines if line["event"] == "shardsafe.poison"]
    assert line["reason"] == reasons.INVALID_JSON and "describe broke" in line["describe_error"]
    assert json.loads(line["record"]) == poison
    [fallback] = [line for line in lines if line["event"] == "shardsafe.quarantine_fallback"]
    assert (
        json.loads(fallback["raw_record"]) == poison
    )  # no envelope could be built: the record is in the log
    assert len(result.quarantined) == 1 and quarantine.envelopes == []
