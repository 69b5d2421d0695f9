"""Payload decoders: bytes, UTF-8 text and JSON, with gzip/zlib detected by their magic bytes.

Every decoder takes the record's bytes and returns the value the handler sees, or raises
:class:`Rejection` naming the poison reason. They are on the hot path, so the common case (an
uncompressed JSON object) costs one UTF-8 decode and one call into the C JSON scanner.
"""

from __future__ import annotations

import json
import json.scanner
import zlib
from collections.abc import Callable

from shardsafe import reasons

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

#: Decompressed payloads larger than this are rejected, so a small record cannot exhaust memory.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
# The first byte of gzip (0x1f) and of zlib with a 32 KiB window, the only one zlib writes (0x78).
_COMPRESSED_FIRST_BYTES = frozenset({0x1F, 0x78})
_AUTO_WBITS = 32 + zlib.MAX_WBITS  # zlib detects the gzip or zlib header by itself

_json_decoder = json.JSONDecoder()
_scan_once = json.scanner.make_scanner(_json_decoder)  # type: ignore[arg-type]  # typeshed: a class


class Rejection(Exception):
    """A record that cannot be decoded or validated: poison, quarantined with ``reason``."""

    def __init__(self, reason: str, error: BaseException | str) -> None:
        super().__init__(reason, error)
        self.reason = reason
        self.error = error

    @property
    def error_type(self) -> str:
        return "shardsafe.Rejection" if isinstance(self.error, str) else qualified_name(type(self.error))

    @property
    def error_message(self) -> str:
        return self.error if isinstance(self.error, str) else safe_str(self.error)


def qualified_name(kind: type) -> str:
    """``ValueError`` for built-ins, ``json.decoder.JSONDecodeError`` for everything else."""
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def safe_str(error: BaseException, limit: int = 1024) -> str:
    """``str(error)`` cut to ``limit`` characters; an exception whose ``__str__`` fails still says something."""
    try:
        text = str(error)
    except Exception:
        text = f"<unprintable {type(error).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decompress_if_compressed(payload: bytes) -> bytes:
    """The payload, inflated if it starts with a gzip or zlib header.

    A gzip header is unambiguous, so a gzip payload that does not inflate is poison. The zlib
    header is two bytes that ordinary data can start with, so a "zlib" payload that does not
    inflate is taken as it is.
    """
    if not payload or payload[0] not in _COMPRESSED_FIRST_BYTES:
        return payload
    if payload[:2] == _GZIP_MAGIC:
        try:
            return _inflate(payload)
        except (zlib.error, EOFError, OverflowError) as error:
            raise Rejection(reasons.BAD_COMPRESSION, error) from None
    if len(payload) >= 2 and ((payload[0] << 8) | payload[1]) % 31 == 0:
        try:
            return _inflate(payload)
        except (zlib.error, EOFError):
            return payload
    return payload


def _inflate(payload: bytes) -> bytes:
    """Inflate every gzip member (or the one zlib stream), refusing more than MAX_DECOMPRESSED_BYTES."""
    parts: list[bytes] = []
    total = 0
    remaining = payload
    while remaining:
        inflater = zlib.decompressobj(_AUTO_WBITS)
        chunk = inflater.decompress(remaining, MAX_DECOMPRESSED_BYTES - total + 1)
        total += len(chunk)
        if total > MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
            raise OverflowError(f"payload inflates to more than {MAX_DECOMPRESSED_BYTES} bytes")
        if not inflater.eof:
            raise EOFError("compressed payload is truncated")
        parts.append(chunk)
        remaining = inflater.unused_data
        if remaining[:2] != _GZIP_MAGIC:
            if remaining.strip(b"\x00"):
                raise zlib.error(f"{len(remaining)} bytes of trailing garbage after the compressed data")
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode_bytes(payload: bytes) -> bytes:
    """The payload as bytes (inflated if compressed)."""
    if not payload:
        raise Rejection(reasons.EMPTY, "record has no data")
    return decompress_if_compressed(payload)


def decode_text(payload: bytes) -> str:
    """The payload as UTF-8 text."""
    if not payload:
        raise Rejection(reasons.EMPTY, "record has no data")
    if payload[0] in _COMPRESSED_FIRST_BYTES:
        payload = decompress_if_compressed(payload)
    try:
        return payload.decode()
    except UnicodeDecodeError as error:
        raise Rejection(reasons.INVALID_UTF8, error) from None


def decode_json(payload: bytes) -> dict[str, Any]:
    """The payload as a JSON object (a ``dict``); any other JSON value is poison (``not_an_object``)."""
    if not payload:
        raise Rejection(reasons.EMPTY, "record has no data")
    if payload[0] in _COMPRESSED_FIRST_BYTES:
        payload = decompress_if_compressed(payload)
    try:
        text = payload.decode()
    except UnicodeDecodeError as error:
        raise Rejection(reasons.INVALID_UTF8, error) from None
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        # Leading whitespace or not JSON at all: the full decoder knows which, and says where.
        value, end = _decode_fully(text), len(text)
    except (ValueError, RecursionError) as error:
        raise Rejection(reasons.INVALID_JSON, error) from None
    if end != len(text) and not text[end:].isspace():
        _decode_fully(text)  # raises "Extra data" with its position
    if type(value) is not dict:
        raise Rejection(
            reasons.NOT_AN_OBJECT,
            f"expected a JSON object, got a JSON {_json_kind(value)}",
        )
    return value


def _decode_fully(text: str) -> Any:
    try:
        return _json_decoder.decode(text)
    except (ValueError, RecursionError) as error:
        raise Rejection(reasons.INVALID_JSON, error) from None


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def custom_decoder(decode: Callable[[bytes], object]) -> Callable[[bytes], object]:
    """Wrap a user decoder (protobuf, Avro, ...): its exceptions become poison with reason ``decode_error``."""

    def decode_custom(payload: bytes) -> object:
        if not payload:
            raise Rejection(reasons.EMPTY, "record has no data")
        payload = decompress_if_compressed(payload)
        try:
            return decode(payload)
        except Rejection:
            raise
        except Exception as error:
            raise Rejection(reasons.DECODE_ERROR, error) from None

    return decode_custom


DECODERS: dict[str, Callable[[bytes], object]] = {
    "json": decode_json,
    "text": decode_text,
    "bytes": decode_bytes,
}
