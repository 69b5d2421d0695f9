"""Structured log lines: one JSON object per line, with stable keys an operator can search.

Lines go through the ``shardsafe.events`` logger (EMF metrics through ``shardsafe.metrics``). Unless
the application attached its own handlers to them, they write bare JSON lines to stdout at INFO
and above and do not propagate: in Lambda the root logger would add a prefix (and drop INFO), and
CloudWatch Logs Insights indexes the keys of a line that is pure JSON.

Every line has ``level``, ``event`` (``shardsafe.poison``, ``shardsafe.batch``, ...) and
``timestamp``; the keys of each event are listed beside the function that writes it.

A line takes at most :data:`MAX_LINE_BYTES`, what one CloudWatch Logs event holds: a value too long
for that (the last copy of a poison record, when no queue took it) is written in parts by
:func:`emit_in_parts`, and :func:`reassemble` puts the parts back together.

The last copy of a record (:func:`write_last_copy`) does not go through :mod:`logging` at all: no
logger level, ``logging.disable``, removed handler or filter can drop it. It is written straight to
stdout, which Lambda sends to CloudWatch Logs, at a level Lambda's log-level filter never drops
(:func:`last_copy_level`); if even that write fails, the caller hands the record back to Lambda.
"""

from __future__ import annotations

import json
import os
import sys
import time

from shardsafe.core import jsontext

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any

# The logging levels, so that callers need not import logging (about 10 ms) before the first line.
INFO = 20
WARNING = 30
ERROR = 40
_LEVEL_NAMES = {INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}

POISON = "shardsafe.poison"
RETRYABLE = "shardsafe.retryable"
BATCH = "shardsafe.batch"
QUARANTINE_FALLBACK = "shardsafe.quarantine_fallback"
QUARANTINE_S3 = "shardsafe.quarantine_s3"
MALFORMED_EVENT = "shardsafe.malformed_event"
INTERNAL_ERROR = "shardsafe.internal_error"
WARNED = "shardsafe.warning"

#: The most bytes a line may take (UTF-8, newline excluded). Lambda sends each stdout line to CloudWatch
#: Logs as one event, and an event holds 262,144 bytes less 26 that CloudWatch counts for each
#: (PutLogEvents: "plus 26 bytes for each log event"): 262,118. The 6,118 left over are for what a
#: wrapper around the line may add: Lambda's text prefix (``[ERROR]\t<timestamp>\t<request id>\t``,
#: 70 bytes) where an application lets the lines reach the root logger, or a JSON formatter's own keys.
#: (The PutLogEvents reference now says 1 MB an event; 256 KiB stays the limit here until Lambda's own
#: handling of a longer stdout line has been measured.)
MAX_LINE_BYTES = 256_000

#: The keys :func:`emit_in_parts` adds to each part, after the fields and before the blob's chunk.
PART_KEYS = ("parts_id", "part", "parts", "blob_sha256")

EVENTS_LOGGER = "shardsafe.events"
METRICS_LOGGER = "shardsafe.metrics"

_logger: logging.Logger | None = None
_metrics_logger: logging.Logger | None = None
_stdout_handler: logging.Handler | None = None  # the handler shardsafe attaches, once configured

# json.dumps(value, ensure_ascii=False, default=repr, separators=(",", ":")) without a new encoder per line:
# how a field's value is written.
encode_field = jsontext.encoder(default=repr)


def _configure() -> logging.Logger:
    """The events logger; both shardsafe loggers get a bare-JSON stdout handler unless the application set one."""
    global _logger, _metrics_logger, _stdout_handler  # noqa: PLW0603 - configured once per process, on first use
    import logging  # lazy: Lambda's runtime has it loaded already; elsewhere it waits for the first line

    class StdoutJsonLines(logging.Handler):
        """The message as it is, one line, on whatever ``sys.stdout`` is now (test runners swap it)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                stream = sys.stdout
                stream.write(record.getMessage() + "\n")
                stream.flush()
            except Exception:
                self.handleError(record)

    handler = StdoutJsonLines()
    for name in (EVENTS_LOGGER, METRICS_LOGGER):
        configured = logging.getLogger(name)
        if not configured.handlers:
            configured.addHandler(handler)
            if configured.level == logging.NOTSET:
                configured.setLevel(logging.INFO)
            configured.propagate = False
    logger = logging.getLogger(EVENTS_LOGGER)
    _metrics_logger = logging.getLogger(METRICS_LOGGER)
    _stdout_handler = handler
    _logger = logger
    return logger


def enabled(level: int) -> bool:
    """Whether a line at ``level`` would be written: check before building an expensive one."""
    return (_logger or _configure()).isEnabledFor(level)


def emit(level: int, event: str, fields: dict[str, Any]) -> None:
    """Write one JSON line; never raises (a field JSON cannot encode is written as its repr).

    The line is ``level``, ``event`` and ``timestamp``, then ``fields`` in their order; fields
    must not use those three keys.
    """
    logger = _logger or _configure()
    if logger.isEnabledFor(level):
        _write(logger, level, event, (encode_members(fields),))


def emit_members(level: int, event: str, lines: Sequence[str], timestamp: str | None = None) -> None:
    """Write one line per item of ``lines``, each the JSON members of its fields (``"a":1,"b":"x"``).

    The lines are what :func:`emit` would write for each, with one ``timestamp`` (an
    :func:`iso_utc`, now by default), and through shardsafe's own handler in one write.
    """
    logger = _logger or _configure()
    if lines and logger.isEnabledFor(level):
        _write(logger, level, event, lines, timestamp)


def encode_members(fields: dict[str, Any]) -> str:
    """``fields`` as the members of a JSON object, as a line has them; never raises."""
    try:
        return encode_field(fields)[1:-1]
    except (TypeError, ValueError, RecursionError):
        return encode_field({str(key): repr(value) for key, value in fields.items()})[1:-1]


def _head(level: int | str, event: str, timestamp: str) -> str:
    """A line's start, up to its fields: ``{"level":"ERROR","event":"...","timestamp":"..."``."""
    name = level if isinstance(level, str) else _LEVEL_NAMES.get(level) or str(level)
    return f'{{"level":"{name}","event":{jsontext.string(event)},"timestamp":"{timestamp}"'


def _line(head: str, members: str) -> str:
    """The text of a line, as written (newline excluded)."""
    # a lone surrogate (from a record or an exception) would make the write to stdout fail: escape it
    return jsontext.escape(f"{head},{members}}}" if members else f"{head}}}", jsontext.NOT_UTF8)


def _write(
    logger: logging.Logger, level: int, event: str, lines: Sequence[str], timestamp: str | None = None
) -> None:
    head = _head(level, event, timestamp or iso_utc())
    texts = [_line(head, members) for members in lines]
    handler = _stdout_handler
    handlers = logger.handlers
    if (
        len(handlers) == 1
        and handlers[0] is handler
        and handler is not None
        and not (logger.filters or handler.filters or logger.propagate or logger.disabled)
        and handler.level <= level
    ):
        # Only shardsafe's own handler would see the lines: write them as that handler does, without
        # a LogRecord each (a stack walk, thread and process lookups) that nothing would read.
        with handler.lock:  # type: ignore[union-attr]  # created with the handler
            try:
                stream = sys.stdout
                stream.write("\n".join(texts) + "\n")
                stream.flush()
            except Exception:
                for text in texts:
                    handler.handleError(
                        logger.makeRecord(logger.name, level, __file__, 0, "%s", (text,), None)
                    )
        return
    for text in texts:
        logger.log(level, "%s", text)


def emit_in_parts(level: int, event: str, fields: dict[str, Any], blob_key: str, blob: str) -> int:
    """Write ``fields`` and a long text under ``blob_key``: as one line if it fits, else in parts that do.

    For the last copy of a value that may be too long for one line: a payload's base64, a record's
    JSON. Returns the number of lines written (0 when ``level`` is off); never raises.

    The one line is what ``emit(level, event, {**fields, blob_key: blob})`` writes, when it takes at
    most :data:`MAX_LINE_BYTES`. Otherwise the blob is cut into chunks, one per line, so that every
    line fits whatever the blob holds (measured in UTF-8 after JSON escaping), and each line is
    ``level``, ``event``, ``timestamp`` (the same for all), ``fields``, then :data:`PART_KEYS` and the
    chunk::

        {...,"why":"...","parts_id":"<uuid4 hex>","part":1,"parts":3,"blob_sha256":"<hex>","raw_record":"<chunk>"}

    A part keeps the event of its value (an operator's search for it finds the parts); the keys mark
    it as a part. ``blob_sha256`` is the SHA-256 of the blob's UTF-8 (``surrogatepass`` for a lone
    surrogate) as JSON reads it back, a high and a low surrogate side by side being the one character
    they encode. ``fields`` must be small and use none of those keys: fields that would leave less
    than half a line to the blob are written instead as ``fields_truncated: true`` and ``fields_json``,
    the start of their JSON text, as much as fits in half a line. (Should not even one character of
    the blob fit beside the line's own keys, the value is written as the one line all the same.)

    Put the parts back together with :func:`reassemble`::

        emit_in_parts(ERROR, QUARANTINE_FALLBACK, {"why": why}, "raw_record", text)  # 3
        reassemble([json.loads(line) for line in lines], "raw_record")  # [{..., "why": why, "raw_record": text}]
    """
    logger = _logger or _configure()
    if not logger.isEnabledFor(level):
        return 0
    timestamp = iso_utc()
    try:
        lines = _parts(_head(level, event, timestamp), fields, blob_key, blob)
    except Exception:  # a bug here must not cost the value: one line, as emit() would write it
        lines = [_members(fields, {blob_key: blob})]
    _write(logger, level, event, lines, timestamp)
    return len(lines)


#: Set by Lambda from the function's logging configuration (advanced logging controls): ``JSON`` or
#: ``Text``, and with JSON the application log level (``TRACE`` ... ``FATAL``).
LOG_FORMAT_ENV = "AWS_LAMBDA_LOG_FORMAT"
LOG_LEVEL_ENV = "AWS_LAMBDA_LOG_LEVEL"
#: The application log levels at which Lambda keeps a line whose ``level`` is ERROR.
_KEEPS_ERROR = frozenset({"TRACE", "DEBUG", "INFO", "WARN", "ERROR"})


def last_copy_level() -> str:
    """The ``level`` of the lines holding the last copy of a record: ``ERROR``, or ``FATAL`` when Lambda would
    drop an ERROR line.

    With the JSON log format, Lambda reads a stdout line that is a JSON object with a ``level`` key
    (and a valid RFC 3339 ``timestamp``, or the line counts as INFO) and sends it to CloudWatch Logs only
    if that level is at least the function's application log level: TRACE, DEBUG, INFO, WARN, ERROR or
    FATAL, the most severe ("Log-level filtering", AWS Lambda Developer Guide). Lambda tells the function
    both in ``AWS_LAMBDA_LOG_FORMAT`` and ``AWS_LAMBDA_LOG_LEVEL``. FATAL is the one level it keeps
    whatever the setting; ERROR is kept unless the application log level is FATAL (or one Lambda may add
    later), and stays ERROR otherwise so that searches for ``"level":"ERROR"`` find it. The text format
    filters nothing. The system log level filters only Lambda's own lines (START, END, REPORT).
    """
    if os.environ.get(LOG_FORMAT_ENV, "").strip().upper() != "JSON":
        return "ERROR"
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().upper()
    return "ERROR" if not level or level in _KEEPS_ERROR else "FATAL"


def write_last_copy(event: str, fields: dict[str, Any], blob_key: str, blob: str) -> int:
    """Write the last copy of a value (a record's payload, a record, an event) to stdout, whatever the logging
    settings: the lines :func:`emit_in_parts` would write, at :func:`last_copy_level`, in one write.

    Returns the number of lines; raises (``OSError``, ``ValueError`` on a closed stream) when stdout does
    not take them, so that the caller can keep the record another way.
    """
    head = _head(last_copy_level(), event, iso_utc())
    try:
        lines = _parts(head, fields, blob_key, blob)
    except Exception:  # a bug here must not cost the value: one line, as emit() would write it
        lines = [_members(fields, {blob_key: blob})]
    text = "\n".join(_line(head, members) for members in lines) + "\n"
    handler = _stdout_handler
    lock = handler.lock if handler is not None else None
    if lock is not None:  # shardsafe's own lines go through the same lock: none is cut into another
        with lock:
            _write_stdout(text)
    else:
        _write_stdout(text)
    return len(lines)


def _write_stdout(text: str) -> None:
    stream = sys.stdout
    if stream is None:  # pythonw, or a closed console
        raise OSError("sys.stdout is None: there is no stdout to write to")
    stream.write(text)
    stream.flush()


def _parts(head: str, fields: dict[str, Any], blob_key: str, blob: str) -> list[str]:
    """The members of each line :func:`emit_in_parts` writes."""
    if _bytes(_line(head, _members(fields, {blob_key: ""}))) + _string_bytes(blob) <= MAX_LINE_BYTES:
        return [_members(fields, {blob_key: blob})]
    import uuid  # lazy, like bisect and hashlib: only a value too long for one line gets here

    blob = _as_json_reads_it(blob)
    parts_id, digest = uuid.uuid4().hex, _sha256(blob)

    def part(fields: dict[str, Any], chunk: str, number: int, parts: int) -> str:
        tail = {"parts_id": parts_id, "part": number, "parts": parts, "blob_sha256": digest, blob_key: chunk}
        return _members(fields, tail)

    most = len(blob)  # no part number is larger: a chunk has a character at least

    def size(fields: dict[str, Any], chunk: str) -> int:
        """The bytes of a line, measured with the largest part numbers it could have: it takes no more."""
        return _bytes(_line(head, part(fields, chunk, most, most)))

    half = MAX_LINE_BYTES // 2
    if size(fields, "") > half:
        text = "{" + encode_members(fields) + "}"
        keep = _longest_prefix(
            text, half, lambda prefix: size({"fields_truncated": True, "fields_json": prefix}, "")
        )
        fields = {"fields_truncated": True, "fields_json": text[: max(keep, 0)]}
    room = MAX_LINE_BYTES - size(fields, "")  # for a chunk, inside its quotes
    chunks: list[str] = []
    start = 0
    while start < len(blob):
        rest = blob[start : start + room]  # no more fit: a character takes a byte at least
        taken = len(rest) if _string_bytes(rest) <= room else _longest_prefix(rest, room, _string_bytes)
        if taken <= 0:
            raise ValueError(f"no room for the blob in a line of {MAX_LINE_BYTES} bytes")
        chunks.append(rest[:taken])
        start += taken
    return [part(fields, chunk, number, len(chunks)) for number, chunk in enumerate(chunks, 1)]


def _longest_prefix(text: str, limit: int, size: Callable[[str], int]) -> int:
    """How many characters from the start of ``text`` keep ``size`` within ``limit``; -1 if not even the empty prefix does.

    ``size`` must grow with the prefix, as a line's bytes do: each character is escaped on its own.
    """
    import bisect

    return bisect.bisect_right(range(len(text) + 1), limit, key=lambda length: size(text[:length])) - 1


def _members(fields: dict[str, Any], tail: dict[str, Any]) -> str:
    """``fields`` then ``tail`` as a line's members; apart, so that a field JSON cannot write leaves the tail as it is."""
    return ",".join(members for members in (encode_members(fields), encode_members(tail)) if members)


def _string_bytes(text: str) -> int:
    """The bytes ``text`` takes in a line as a JSON string, quotes excluded, as encode_members and _line write it.

    Each character is written on its own (one to six bytes), so a line's bytes are those of the line
    with an empty string there plus these.
    """
    # "backslashreplace" writes a lone surrogate as the \udXXX that _line does, without a call for each
    return len(jsontext.string(text).encode("utf-8", "backslashreplace")) - 2


def _bytes(line: str) -> int:
    return len(line) if line.isascii() else len(line.encode("utf-8"))  # no lone surrogate is left in a line


def _as_json_reads_it(text: str) -> str:
    """``text`` with each high and low surrogate side by side made the one character they encode.

    A line escapes each lone surrogate, and JSON reads two such escapes side by side as one character;
    parts would read them back as two or one depending on where the text was cut.
    """
    if jsontext.NOT_UTF8.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def reassemble(documents: Iterable[Mapping[str, Any]], blob_key: str) -> list[dict[str, Any]]:
    """Put the parts :func:`emit_in_parts` wrote back together: one document per value, in the order seen.

    ``documents`` are log lines read as JSON. Parts are grouped by ``parts_id`` and joined in ``part``
    order into one document: the first part's keys but :data:`PART_KEYS`, and the whole text under
    ``blob_key``. Any other document (a value written as one line) is returned as it is. Raises
    ValueError, naming the ``parts_id``, if a group lacks a part or its text does not match
    ``blob_sha256``.
    """
    order: list[str | Mapping[str, Any]] = []  # a parts_id, or a document that is not a part
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for document in documents:
        parts_id = document.get("parts_id")
        if parts_id is None:
            order.append(document)
        elif parts_id in groups:
            groups[parts_id].append(document)
        else:
            groups[parts_id] = [document]
            order.append(str(parts_id))
    return [_join(item, groups[item], blob_key) if isinstance(item, str) else dict(item) for item in order]


def _join(parts_id: str, parts: list[Mapping[str, Any]], blob_key: str) -> dict[str, Any]:
    where = f"parts_id {parts_id!r}"
    counts = {part.get("parts") for part in parts}
    if len(counts) != 1:
        raise ValueError(f"{where}: its parts disagree on how many there are: {sorted(map(repr, counts))}")
    (count,) = counts
    if type(count) is not int or count < 1:
        raise ValueError(f"{where}: 'parts' is {count!r}, not a count")
    chunks: dict[int, str] = {}
    for part in parts:
        number, chunk = part.get("part"), part.get(blob_key)
        if type(number) is not int or not 1 <= number <= count or not isinstance(chunk, str):
            raise ValueError(f"{where}: not a part of {count}: part {number!r} with {blob_key} {chunk!r:.80}")
        if chunks.setdefault(number, chunk) != chunk:  # a part read twice is fine, two texts for one are not
            raise ValueError(f"{where}: part {number} of {count} appears twice with different text")
    missing = [number for number in range(1, count + 1) if number not in chunks]
    if missing:
        raise ValueError(
            f"{where}: missing part {', '.join(map(str, missing))} of {count}; "
            "read every line with this parts_id (over a longer time range, or past a query's row limit)"
        )
    blob = "".join(chunks[number] for number in range(1, count + 1))
    expected = {part.get("blob_sha256") for part in parts}
    actual = _sha256(blob)
    if expected != {actual}:
        raise ValueError(
            f"{where}: the {count} parts join into a text whose sha256 is {actual}, "
            f"not the blob_sha256 they carry ({', '.join(sorted(map(str, expected)))}): a part is corrupted"
        )
    first = next(part for part in parts if part.get("part") == 1)
    document = {key: value for key, value in first.items() if key not in PART_KEYS and key != blob_key}
    document[blob_key] = blob
    return document


def emit_document(document: dict[str, Any]) -> None:
    """Write a JSON document as it is (an EMF metrics line), through the ``shardsafe.metrics`` logger."""
    if _metrics_logger is None:
        _configure()
    assert _metrics_logger is not None
    try:
        text = json.dumps(document, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return
    _metrics_logger.info("%s", text)


def iso_utc(seconds: float | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a Z (``2024-01-01T00:00:00.123Z``): every shardsafe timestamp."""
    millis = round((time.time() if seconds is None else seconds) * 1000)
    whole, fraction = divmod(millis, 1000)
    prefix = _second_prefixes.get(whole)
    if prefix is None:
        if len(_second_prefixes) >= 256:
            _second_prefixes.clear()
        prefix = _second_prefixes[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{prefix}.{fraction:03d}Z"


# Whole seconds already formatted: a batch's lines and envelopes share a few of them.
_second_prefixes: dict[int, str] = {}


def as_log_text(value: object) -> str:
    """``value`` as compact, key-sorted JSON text for the log (unknown types as their repr), or its repr
    when even that fails: how a record or an event that could not be read is logged."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=repr)
    except Exception:
        return repr(value)
