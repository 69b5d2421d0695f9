"""A value too long for one log line is written in parts that each fit, and put back together whole."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardsafe.core import jsontext
from shardsafe.core.quarantine.envelope import build_envelope
from shardsafe.core.telemetry import logs

# What JSON must escape or UTF-8 makes longer: every line must fit whatever the blob holds.
ADVERSARIAL = {
    "quotes": '"',
    "backslashes": "\\",
    "control characters": "\x01",
    "newlines": "\n",
    "euro signs": "€",
    "emoji": "😀",
    "lone high surrogates": "\ud800",
    "lone low surrogates": "\udfff",
    "a low then a high surrogate": "\udc00\ud83d",
    "surrogate pairs as two code units": "\ud83d\ude00",
    "mixed": 'a"\\\x00é€😀\ud800\u2028',
}
# A high and a low surrogate side by side: JSON reads their escapes back as the one character they encode.
SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
SMALL_LINE = 1_000  # a line limit that makes a few kilobytes take many parts


def log(fields: dict[str, Any], blob: str, blob_key: str = "raw_record") -> tuple[int, list[str]]:
    """emit_in_parts at ERROR: its return value and the lines it wrote to stdout."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        written = logs.emit_in_parts(logs.ERROR, logs.QUARANTINE_FALLBACK, fields, blob_key, blob)
    text = out.getvalue()
    assert text == "" or text.endswith("\n")
    return written, text.split("\n")[:-1]  # not splitlines(): Lambda cuts lines at "\n" alone, not at U+2028


def read(lines: list[str]) -> list[dict[str, Any]]:
    """The lines as JSON, after checking that each fits and has the shape of every shardsafe line."""
    documents = []
    for line in lines:
        assert len(line.encode("utf-8")) <= logs.MAX_LINE_BYTES, f"a line of {len(line.encode())} bytes"
        document = json.loads(line)
        assert list(document)[:3] == ["level", "event", "timestamp"]
        assert document["event"] == logs.QUARANTINE_FALLBACK
        documents.append(document)
    return documents


def as_one_line_reads_it(blob: str) -> str:
    """The text a reader gets back from the one line emit() would write (surrogate pairs combined)."""
    text: str = json.loads(jsontext.escape(json.dumps(blob, ensure_ascii=False), jsontext.NOT_UTF8))
    return text


@pytest.fixture
def small_lines() -> Iterator[None]:
    with mock.patch.object(logs, "MAX_LINE_BYTES", SMALL_LINE):
        yield


# --- a quarantine envelope whose queue is unreachable ---


@pytest.mark.parametrize("size", [196_000, 1_048_576], ids=["196 KB", "1 MiB, SQS's largest message"])
def test_a_large_payload_is_logged_in_parts_that_fit_and_come_back_byte_identical(size: int) -> None:
    payload = os.urandom(size)
    envelope = build_envelope(
        reason="invalid_json",
        payload=payload,
        record={"eventSource": "aws:kinesis"},
        max_message_bytes=4 * size,  # the payload stays in the envelope, as when the queue allows it
    )
    document = envelope.to_dict()
    payload_base64 = document["payload"].pop("base64")
    fields = {"why": "quarantine sink raised ConnectionError()", "envelope": document}

    written, lines = log(fields, payload_base64, "payload_base64")

    assert written == len(lines) > 1
    parts = read(lines)
    assert [part["part"] for part in parts] == list(range(1, len(lines) + 1))
    assert {part["parts"] for part in parts} == {len(lines)}
    assert len({part["parts_id"] for part in parts}) == 1
    assert all(part["envelope"] == document and part["why"] == fields["why"] for part in parts)
    random.Random(size).shuffle(parts)  # a log query need not return them in order
    (whole,) = logs.reassemble(parts, "payload_base64")
    restored = base64.b64decode(whole["payload_base64"], validate=True)
    assert restored == payload and hashlib.sha256(restored).hexdigest() == document["payload"]["sha256"]
    assert whole["envelope"] == document and whole["why"] == fields["why"]
    assert whole["level"] == "ERROR" and whole["event"] == logs.QUARANTINE_FALLBACK
    assert not set(logs.PART_KEYS) & set(whole)


def test_a_value_that_fits_is_one_line_as_emit_writes_it_and_reassembly_passes_it_through() -> None:
    fields = {"why": "could not build an envelope", "request_id": "r-1"}

    written, lines = log(fields, '{"id": 1, "text": "é"}')

    assert written == len(lines) == 1
    (document,) = read(lines)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        logs.emit(logs.ERROR, logs.QUARANTINE_FALLBACK, {**fields, "raw_record": '{"id": 1, "text": "é"}'})
    expected = json.loads(out.getvalue())
    assert {**document, "timestamp": None} == {**expected, "timestamp": None}
    assert list(document) == list(expected)
    assert logs.reassemble([document], "raw_record") == [document]


@pytest.mark.parametrize(("piece", "size"), [("a", 1), ("é", 2), ('"', 2), ("\x01", 6), ("\udfff", 6)])
def test_a_value_one_character_over_one_line_takes_two(piece: str, size: int) -> None:
    room = logs.MAX_LINE_BYTES - len(log({"why": "x"}, "")[1][0].encode())  # bytes, once escaped
    fits = piece * (room // size)
    assert log({"why": "x"}, fits)[0] == 1
    written, lines = log({"why": "x"}, fits + piece)
    assert written == 2
    assert logs.reassemble(read(lines), "raw_record")[0]["raw_record"] == fits + piece


# --- whatever the blob holds ---


@pytest.mark.parametrize("piece", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_every_line_fits_and_the_text_comes_back_whatever_characters_it_holds(piece: str) -> None:
    blob = piece * (logs.MAX_LINE_BYTES // len(piece))  # up to six bytes a character once escaped

    written, lines = log({"why": "x"}, blob)

    assert written == len(lines) > 1
    (whole,) = logs.reassemble(read(lines), "raw_record")
    assert whole["raw_record"] == as_one_line_reads_it(blob)
    if not SURROGATE_PAIR.search(blob):
        assert whole["raw_record"] == blob


@pytest.mark.usefixtures("small_lines")
@pytest.mark.parametrize("piece", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_many_small_parts_fit_whatever_characters_the_blob_holds(piece: str) -> None:
    blob = "a" + piece * 6_000  # dozens of parts, cut at every offset of an escape

    written, lines = log({"why": "x"}, blob)

    assert written == len(lines) > 10
    assert logs.reassemble(read(lines), "raw_record")[0]["raw_record"] == as_one_line_reads_it(blob)


CHARACTERS = st.characters(exclude_categories=())  # surrogates and control characters included
BLOBS = (
    st.text(CHARACTERS, max_size=3_000)
    | st.builds(str.__mul__, st.text(CHARACTERS, min_size=1, max_size=8), st.integers(1, 600))
    | st.builds(str.__add__, st.text("ab", max_size=700), st.sampled_from(list(ADVERSARIAL.values())))
)


@given(blob=BLOBS, why=st.text(CHARACTERS, max_size=30))
def test_any_text_is_logged_in_lines_that_fit_and_read_back_as_one_line_would(blob: str, why: str) -> None:
    with mock.patch.object(logs, "MAX_LINE_BYTES", SMALL_LINE):
        written, lines = log({"why": why}, blob)
        documents = read(lines)
    assert written == len(lines) >= 1
    (whole,) = logs.reassemble(documents, "raw_record")
    assert whole["raw_record"] == as_one_line_reads_it(blob)
    assert whole["why"] == as_one_line_reads_it(why)


# --- fields ---


@pytest.mark.usefixtures("small_lines")
def test_fields_too_long_to_leave_room_for_the_blob_are_cut_with_a_note() -> None:
    fields = {"why": "w" * 5_000, "request_id": "r-1"}

    written, lines = log(fields, "b" * 4_000)

    parts = read(lines)
    assert written == len(parts) > 1
    for part in parts:
        assert part["fields_truncated"] is True and "why" not in part
        assert part["fields_json"].startswith('{"why":"www') and len(part["fields_json"]) < SMALL_LINE // 2
    assert logs.reassemble(parts, "raw_record")[0]["raw_record"] == "b" * 4_000


def test_fields_json_cannot_write_leave_the_blob_intact() -> None:
    loop: list[Any] = []
    loop.append(loop)
    blob = "\x01€" * 100_000

    _, lines = log({"loop": loop, (1, 2): "tuple key"}, blob)  # type: ignore[dict-item]

    (whole,) = logs.reassemble(read(lines), "raw_record")
    assert whole["raw_record"] == blob and whole["loop"] == "[[...]]"


# --- reassembly ---


def parts_of(blob: str) -> list[dict[str, Any]]:
    with mock.patch.object(logs, "MAX_LINE_BYTES", SMALL_LINE):
        return read(log({"why": "x"}, blob)[1])


def test_a_missing_part_is_named() -> None:
    parts = parts_of("m" * 3_000)
    assert len(parts) > 3
    parts_id = parts[0]["parts_id"]
    with pytest.raises(ValueError, match=rf"parts_id '{parts_id}': missing part 3 of {len(parts)}\b"):
        logs.reassemble(parts[:2] + parts[3:], "raw_record")
    with pytest.raises(ValueError, match=rf"missing part {len(parts)} of {len(parts)}\b"):
        logs.reassemble(parts[:-1], "raw_record")


def test_a_corrupted_part_is_caught_by_the_sha256() -> None:
    parts = parts_of("c" * 3_000)
    parts[1]["raw_record"] = parts[1]["raw_record"][:-1] + "C"
    with pytest.raises(ValueError, match=rf"parts_id '{parts[0]['parts_id']}': .* a part is corrupted"):
        logs.reassemble(parts, "raw_record")


def test_a_part_read_twice_is_taken_once_but_two_texts_for_one_part_are_an_error() -> None:
    parts = parts_of("d" * 3_000)
    assert logs.reassemble([*parts, parts[0]], "raw_record")[0]["raw_record"] == "d" * 3_000
    changed = {**parts[0], "raw_record": "x"}
    with pytest.raises(ValueError, match=r"part 1 of \d+ appears twice with different text"):
        logs.reassemble([*parts, changed], "raw_record")


def test_values_logged_in_turn_come_back_apart_and_in_the_order_seen() -> None:
    one_line = {"level": "ERROR", "event": logs.QUARANTINE_FALLBACK, "raw_record": "short"}
    first, second = parts_of("1" * 3_000), parts_of("1" * 3_000)  # the same text twice: two values
    assert first[0]["parts_id"] != second[0]["parts_id"]
    mixed = [second[0], one_line, *first, *second[1:]]
    assert [document["raw_record"] for document in logs.reassemble(mixed, "raw_record")] == [
        "1" * 3_000,
        "short",
        "1" * 3_000,
    ]


# --- never raises ---


def test_with_no_room_for_a_part_the_value_is_still_written_whole() -> None:
    with mock.patch.object(logs, "MAX_LINE_BYTES", 50):
        written, lines = log({"why": "x"}, "z" * 500)
    assert written == len(lines) == 1
    assert json.loads(lines[0])["raw_record"] == "z" * 500


def test_nothing_is_written_when_the_level_is_off() -> None:
    logs.enabled(logs.ERROR)  # configures the events logger
    logger = logging.getLogger(logs.EVENTS_LOGGER)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        assert log({"why": "x"}, "y" * 300_000) == (0, [])
    finally:
        logger.setLevel(level)
