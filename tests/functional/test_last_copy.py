"""The last copy of a poison record is written whatever the logging settings, or the record is handed back.

When no quarantine store takes a record, the log is its last copy. Those lines go straight to stdout
(what Lambda sends to CloudWatch Logs), never through :mod:`logging`, at a level Lambda's log-level
filter never drops. Each setting that dropped them before has a test here, and a stdout that refuses
them hands the record back to Lambda instead of reporting it quarantined.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from shardsafe import BatchIncompleteError, HandBack, StreamProcessor, reasons
from shardsafe.core.quarantine.envelope import parse_log_fallback
from shardsafe.core.quarantine.sink import QuarantineSink
from shardsafe.core.telemetry import logs
from tests import factories

POISON = [b'{"TICKER": "A", "PRI', b"\xff\xfe not utf-8", b"x" * 400_000]  # the last in log parts


class Unreachable(QuarantineSink):
    """The quarantine queue cannot be reached: every envelope goes to the log."""

    def send(self, envelopes: Any, deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, "the queue is unreachable") for position in range(len(envelopes))]


def kept(lines: list[str]) -> list[bytes]:
    """The payloads an operator gets back from these stdout lines, sorted."""
    documents = [json.loads(line) for line in lines if line.startswith("{")]
    fallbacks = [doc for doc in documents if doc.get("event") == logs.QUARANTINE_FALLBACK]
    envelopes = [parse_log_fallback(doc) for doc in logs.reassemble(fallbacks, "payload_base64")]
    return sorted(envelope.payload_bytes() or b"" for envelope in envelopes if envelope is not None)


def run_poison(capsys: pytest.CaptureFixture[str]) -> list[str]:
    result = StreamProcessor(quarantine=Unreachable(), metrics=False).process(factories.kinesis_event(POISON))
    assert [cell.reason for cell in result.quarantined] == [
        reasons.INVALID_JSON,
        reasons.INVALID_UTF8,
        reasons.INVALID_JSON,
    ]
    return capsys.readouterr().out.splitlines()


@pytest.fixture
def events_logger() -> Iterator[logging.Logger]:
    """shardsafe's events logger, put back as it was after the test."""
    logs.enabled(logs.INFO)  # configured as on first use
    logger = logging.getLogger(logs.EVENTS_LOGGER)
    level, propagate, filters = logger.level, logger.propagate, list(logger.filters)
    handlers = [(handler, handler.level) for handler in logger.handlers]
    yield logger
    logger.setLevel(level)
    for handler, handler_level in handlers:
        handler.setLevel(handler_level)
    logger.handlers[:] = [handler for handler, _ in handlers]
    logger.propagate = propagate
    logger.filters[:] = filters
    logging.disable(logging.NOTSET)


def drop_everything(record: logging.LogRecord) -> bool:
    return False


@pytest.mark.parametrize(
    "configure",
    [
        pytest.param(lambda logger: logger.setLevel(logging.CRITICAL + 1), id="logger-level-raised"),
        pytest.param(lambda logger: logging.disable(logging.CRITICAL), id="logging-disable"),
        pytest.param(lambda logger: logger.handlers.clear(), id="handler-removed"),
        pytest.param(
            lambda logger: (logger.handlers.clear(), setattr(logger, "propagate", True)),
            id="handler-removed-propagating-to-root",
        ),
        pytest.param(lambda logger: logger.addFilter(drop_everything), id="a-filter-that-drops-all"),
        pytest.param(
            lambda logger: logger.handlers[:1] and logger.handlers[0].setLevel(logging.CRITICAL + 1),
            id="handler-level-raised",
        ),
    ],
)
def test_the_last_copy_is_written_whatever_the_logging_settings(
    configure: Any, events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(events_logger)
    assert kept(run_poison(capsys)) == sorted(POISON)


# --- Lambda's advanced logging controls ---

LAMBDA_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")


def sent_by_lambda(line: str, application_level: str) -> bool:
    """Whether Lambda sends a stdout line to CloudWatch Logs, as "Log-level filtering" in the Lambda Developer
    Guide describes it for the JSON log format: a JSON object's ``level`` (case aside) is its level, if it is
    one of the six and its ``timestamp`` is RFC 3339; any other line counts as INFO. A line is sent when its
    level is at least the application log level. (``WARNING`` is not one of the six: counted as INFO.)"""
    level = "INFO"
    try:
        document = json.loads(line)
        datetime.fromisoformat(str(document["timestamp"]).replace("Z", "+00:00"))
        named = str(document["level"]).upper()
    except (ValueError, KeyError, TypeError):
        named = "INFO"
    if named in LAMBDA_LEVELS:
        level = named
    return LAMBDA_LEVELS.index(level) >= LAMBDA_LEVELS.index(application_level)


@pytest.mark.parametrize("application_level", LAMBDA_LEVELS)
def test_with_lambdas_json_log_format_the_last_copy_passes_every_application_log_level(
    application_level: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(logs.LOG_FORMAT_ENV, "JSON")
    monkeypatch.setenv(logs.LOG_LEVEL_ENV, application_level)
    sent = [line for line in run_poison(capsys) if sent_by_lambda(line, application_level)]
    assert kept(sent) == sorted(POISON)


@pytest.mark.parametrize(
    ("log_format", "application_level", "level"),
    [
        (None, None, "ERROR"),
        ("Text", "FATAL", "ERROR"),  # the text format filters nothing
        ("JSON", None, "ERROR"),  # Lambda's default application log level is INFO
        ("JSON", "ERROR", "ERROR"),
        ("json", "fatal", "FATAL"),
        ("JSON", "OFF", "FATAL"),  # a level Lambda may add one day: the one it never drops
    ],
)
def test_the_last_copy_is_error_unless_lambda_would_drop_error(
    log_format: str | None,
    application_level: str | None,
    level: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in ((logs.LOG_FORMAT_ENV, log_format), (logs.LOG_LEVEL_ENV, application_level)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    documents = [json.loads(line) for line in run_poison(capsys)]
    levels = {doc["level"] for doc in documents if doc["event"] == logs.QUARANTINE_FALLBACK}
    assert levels == {level}


# --- when stdout itself refuses ---


class BrokenStdout(io.StringIO):
    """A stdout that refuses the last copy's lines (and takes the others, which it keeps)."""

    def write(self, text: str) -> int:
        if logs.QUARANTINE_FALLBACK in text:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_a_record_whose_last_copy_cannot_be_written_is_handed_back_not_reported_quarantined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", BrokenStdout())
    event = factories.kinesis_event([factories.tick("A"), b"{poison", factories.tick("B")])
    result = StreamProcessor(quarantine=Unreachable(), metrics=False).process(event)
    assert [type(cell).__name__ for cell in result.outcomes] == ["KinesisRecord", "HandBack", "KinesisRecord"]
    assert result.outcomes[1].why == HandBack.NOT_KEPT
    assert result.response == {"batchItemFailures": [{"itemIdentifier": str(factories.FIRST_SEQUENCE + 1)}]}


def test_without_batch_item_failures_an_unkept_record_makes_lambda_retry_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", BrokenStdout())
    processor = StreamProcessor(quarantine=Unreachable(), report_batch_item_failures=False, metrics=False)
    with pytest.raises(BatchIncompleteError):
        processor(factories.kinesis_event([b"{poison"]))


def test_an_unkept_record_with_no_item_identifier_makes_lambda_retry_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", BrokenStdout())
    record = factories.kinesis_record(b"{poison")
    del record["kinesis"]["sequenceNumber"]
    with pytest.raises(BatchIncompleteError, match="kept nowhere"):
        StreamProcessor(quarantine=Unreachable(), metrics=False)({"Records": [record]})
