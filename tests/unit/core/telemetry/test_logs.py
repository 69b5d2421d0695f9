"""Log lines: the same JSON line on stdout whether or not the application added handlers or filters."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from shardsafe.core.telemetry import logs


class Collect(logging.Handler):
    """An application's own handler on the events logger: keeps each line it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def events_logger() -> Iterator[logging.Logger]:
    """The configured ``shardsafe.events`` logger; handlers and filters added by a test are removed after."""
    logs.emit(logs.INFO, "test.configure", {})
    logger = logging.getLogger(logs.EVENTS_LOGGER)
    handlers, filters = list(logger.handlers), list(logger.filters)
    yield logger
    logger.handlers[:], logger.filters[:] = handlers, filters


def test_a_line_is_one_compact_json_object_with_stable_keys(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    logs.emit(logs.ERROR, logs.POISON, {"reason": "invalid_json", "text": "é", "raw": b"\x00"})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    line = json.loads(out)
    assert list(line)[:3] == ["level", "event", "timestamp"]
    assert line["level"] == "ERROR" and line["event"] == logs.POISON and line["text"] == "é"
    assert line["raw"] == repr(b"\x00")  # what JSON cannot encode is written as its repr
    assert out == json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def test_an_application_handler_gets_the_same_line_as_stdout(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    collect = Collect()
    events_logger.addHandler(collect)
    capsys.readouterr()
    logs.emit(logs.ERROR, logs.POISON, {"reason": "invalid_json"})
    assert [line + "\n" for line in collect.messages] == [capsys.readouterr().out]


def test_a_filter_on_the_logger_still_drops_lines(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    events_logger.addFilter(lambda record: False)
    capsys.readouterr()
    logs.emit(logs.ERROR, logs.POISON, {"reason": "invalid_json"})
    assert capsys.readouterr().out == ""


def test_timestamps_are_iso_utc_with_milliseconds() -> None:
    assert logs.iso_utc(1704067200.4567) == "2024-01-01T00:00:00.457Z"
    assert logs.iso_utc(1704067200.9996) == "2024-01-01T00:00:01.000Z"
    assert logs.iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert logs.iso_utc(1704067200.4567) == "2024-01-01T00:00:00.457Z"  # from the cache, the same


def test_a_lone_surrogate_is_escaped_instead_of_failing_the_write(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    logs.emit(logs.ERROR, logs.POISON, {"error_message": "bad \udcff byte", "text": "é"})
    out = capsys.readouterr().out
    out.encode("utf-8")  # what a UTF-8 stdout must be able to take
    assert '"error_message":"bad \\udcff byte"' in out and '"text":"é"' in out
    assert json.loads(out)["error_message"] == "bad \udcff byte"


def test_lines_written_together_reach_an_application_handler_one_by_one(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    logs.emit_members(logs.ERROR, logs.POISON, ['"n":1', '"n":2'])
    together = capsys.readouterr().out.splitlines()
    collect = Collect()
    events_logger.addHandler(collect)
    logs.emit_members(logs.ERROR, logs.POISON, ['"n":1', '"n":2'])
    seen = collect.messages
    assert [json.loads(line)["n"] for line in together] == [json.loads(line)["n"] for line in seen] == [1, 2]
    assert capsys.readouterr().out.splitlines() == seen  # the stdout handler still writes them too


def test_a_field_json_cannot_write_at_all_is_written_as_its_repr(
    events_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    loop: list[Any] = []
    loop.append(loop)
    capsys.readouterr()
    logs.emit(logs.ERROR, logs.POISON, {"loop": loop, (1, 2): "tuple key"})  # type: ignore[dict-item]
    line = json.loads(capsys.readouterr().out)
    assert line["loop"] == "[[...]]" and line["(1, 2)"] == "'tuple key'"
