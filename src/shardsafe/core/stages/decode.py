"""Payload decoders: bytes, UTF-8 text and JSON, with gzip/zlib detected by their magic bytes.

Every decoder takes the record's bytes and returns the value the handler sees, or raises
:class:`Rejection` naming the poison reason; :func:`make_decoder` builds one. They are on the hot
path, so the common case (an uncompressed JSON object of up to a few hundred KB) costs one UTF-8
decode, one call into the C JSON scanner, a length comparison and a search for a backslash.

JSON is strict by default: what RFC 8259 forbids (``NaN``, ``Infinity``, a lone surrogate such as
``"\\ud800"``, which UTF-8 cannot encode) is poison (``invalid_json``); ``strict_json=False``
keeps Python's lenient parsing.

Memory bounds (:class:`DecodeLimits`, reason ``too_large``). A record of at most 1 MiB can cost
far more once decoded: 32 KB of gzip inflate to 34 MB of ``[{},{},...]``, which Python turns into
829 MiB of objects. :func:`default_limits` derives two bounds from the function's memory M
(``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``; 1024 MB outside Lambda):

* ``max_inflated_bytes`` = M/16 (8 MiB at 128 MB, 64 MiB at 1024 MB): what gzip or zlib inflate
  to, all gzip members together. The inflated bytes and the text decoded from them (up to 4
  bytes a character) then take at most 5/16 of M.
* ``max_decoded_bytes`` = M/4 (32 MiB at 128 MB): the Python objects a JSON text decodes to,
  estimated before it is parsed, compressed or not.

What JSON costs in Python, in bytes per character of text (tracemalloc peak while the C scanner
parses a 1 MB text; CPython 3.12.1 and 3.13.0 measure the same)::

    nested objects, a new key at each level   45.1    [[[[...]]]] (200 deep)        43.8
    [{"":[]},{"":[]},...]                     31.0    {"k1":{},"k2":{},...}   20.1-25.8
    [{},{},...]                               24.3    [[],[],...]                   21.6
    one-character non-Latin-1 strings         18.1    [0.5,0.5,...]                  8.1
    ["x","y",...] (shared one-char strings)    2.1
    ordinary records: [{"x":1,"y":2},...] 13.8, DynamoDB-style 11.8, events 5.5, logs 3.4

No text measured costs more than 48 bytes a character, so a text shorter than
``max_decoded_bytes / 48`` characters (699,050 at 128 MB) is not looked at. A longer one is
estimated with three ``str.count`` calls (0.8 ms per MiB each): 13 bytes a character, plus 72 per
``[``, 128 per ``{`` and 24 per ``,``. Of 52 shapes measured (the table's and more: wider objects,
long lists, numbers, escapes, 4-byte characters), 42 cost at most 1/1.05 of that estimate; the 10
whose objects' keys are all different cost up to 1.45x it (the scanner also keeps each new key in
a memo). Ordinary records are estimated at 1.6-4.4x their cost, 25.6 bytes a character at most,
so a 1 MiB JSON record passes at 128 MB unless it is pathological.
"""

from __future__ import annotations

import json
import json.scanner
import os
import zlib
from collections.abc import Callable

from shardsafe.core import reasons
from shardsafe.core.errors import ConfigurationError, Rejection
from shardsafe.core.jsontext import NOT_UTF8
from shardsafe.core.policy import NEVER_CAUGHT

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any, NoReturn

#: Set by Lambda: the function's memory in MB (MiB, in fact), from which the default limits follow.
MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
#: The memory assumed outside Lambda (tests, local runs): limits of 64 MiB inflated, 256 MiB decoded.
DEFAULT_MEMORY_MB = 1024

_GZIP_MAGIC = b"\x1f\x8b"
# The first byte of gzip (0x1f) and of zlib with a 32 KiB window, the only one zlib writes (0x78).
_COMPRESSED_FIRST_BYTES = frozenset({0x1F, 0x78})
_AUTO_WBITS = 32 + zlib.MAX_WBITS  # zlib detects the gzip or zlib header by itself
# A gzip member after the first is fed 64 bytes, 64 more, then twice as many each call while it
# goes on: what is fed past its end (and copied into unused_data) is less than its size plus 64.
_FIRST_FEED = 64

# The JSON structure estimate (see the module docstring for the measurements behind it).
_WORST_BYTES_PER_CHAR = 48
_BYTES_PER_CHAR, _BYTES_PER_ARRAY, _BYTES_PER_OBJECT, _BYTES_PER_COMMA = 13, 72, 128, 24

_RAISE_IT = "give the function more memory, or pass decode_limits=DecodeLimits(...) to raise it"


# --- limits ---


class DecodeLimits:
    """How much memory one record may take to decode; over either bound it is poison (``too_large``).

    >>> DecodeLimits(max_inflated_bytes=16 << 20, max_decoded_bytes=64 << 20)
    DecodeLimits(max_inflated_bytes=16777216, max_decoded_bytes=67108864)
    """

    __slots__ = ("max_decoded_bytes", "max_inflated_bytes")
    max_inflated_bytes: int
    """What a gzip or zlib payload may inflate to (all gzip members together)."""
    max_decoded_bytes: int
    """The estimated memory of the Python objects a JSON text decodes to."""

    def __init__(self, max_inflated_bytes: int, max_decoded_bytes: int) -> None:
        for name, value in (
            ("max_inflated_bytes", max_inflated_bytes),
            ("max_decoded_bytes", max_decoded_bytes),
        ):
            if type(value) is not int or value < 1:
                raise ConfigurationError(
                    f"DecodeLimits {name} must be a number of bytes, 1 or more; got {value!r}"
                )
        object.__setattr__(self, "max_inflated_bytes", max_inflated_bytes)
        object.__setattr__(self, "max_decoded_bytes", max_decoded_bytes)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("DecodeLimits cannot be changed; make a new one")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecodeLimits):
            return NotImplemented
        return (self.max_inflated_bytes, self.max_decoded_bytes) == (
            other.max_inflated_bytes,
            other.max_decoded_bytes,
        )

    def __hash__(self) -> int:
        return hash((self.max_inflated_bytes, self.max_decoded_bytes))

    def __repr__(self) -> str:
        return (
            f"DecodeLimits(max_inflated_bytes={self.max_inflated_bytes}, "
            f"max_decoded_bytes={self.max_decoded_bytes})"
        )


def default_limits(memory_mb: int | None = None) -> DecodeLimits:
    """The limits for a function of ``memory_mb`` MB: a quarter of it decoded, a sixteenth inflated.

    ``memory_mb`` defaults to ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, or :data:`DEFAULT_MEMORY_MB`
    outside Lambda. At 128 MB (the smallest function) that is 8 MiB inflated and 32 MiB decoded.

    >>> default_limits(128)
    DecodeLimits(max_inflated_bytes=8388608, max_decoded_bytes=33554432)
    """
    if memory_mb is None:
        configured = os.environ.get(MEMORY_ENV, "").strip()
        if not configured:
            memory_mb = DEFAULT_MEMORY_MB
        elif configured.isdigit():
            memory_mb = int(configured)
        else:
            raise ConfigurationError(f"{MEMORY_ENV} must be a whole number of MB; got {configured!r}")
    if type(memory_mb) is not int or memory_mb < 1:
        raise ConfigurationError(f"memory_mb must be a whole number of MB, 1 or more; got {memory_mb!r}")
    decoded = memory_mb * 1024 * 1024 // 4
    return DecodeLimits(max_inflated_bytes=decoded // 4, max_decoded_bytes=decoded)


# --- compression ---


def decompress_if_compressed(payload: bytes, max_bytes: int) -> bytes:
    """The payload, inflated if it starts with a gzip or zlib header, to at most ``max_bytes``.

    A gzip header is unambiguous, so a gzip payload that does not inflate is poison. The zlib
    header is two bytes that ordinary data can start with, so a "zlib" payload that does not
    inflate is taken as it is. Either one inflating past ``max_bytes`` is poison (``too_large``).
    """
    if not payload or payload[0] not in _COMPRESSED_FIRST_BYTES:
        return payload
    if payload[:2] == _GZIP_MAGIC:
        try:
            return _inflate(payload, max_bytes)
        except (zlib.error, EOFError) as error:
            raise Rejection(reasons.BAD_COMPRESSION, error) from None
    if len(payload) >= 2 and ((payload[0] << 8) | payload[1]) % 31 == 0:
        try:
            return _inflate(payload, max_bytes)
        except (zlib.error, EOFError):
            return payload
    return payload


def _inflate(payload: bytes, max_bytes: int) -> bytes:
    """Inflate every gzip member (or the one zlib stream), in time linear in the payload's size.

    The first member is handed the whole payload: one call for the usual single member. Later
    ones are fed from a memoryview in slices of 64, 64, 128, 256... bytes, so that the rest of
    the payload is not copied into ``unused_data`` once per member (quadratic time).
    """
    view = memoryview(payload)
    size = len(payload)
    parts: list[bytes] = []
    total = 0
    position = 0
    data: bytes | memoryview = payload
    while True:
        inflater = zlib.decompressobj(_AUTO_WBITS)
        feed = _FIRST_FEED
        while True:
            chunk = inflater.decompress(data, max_bytes - total + 1)
            total += len(chunk)
            if total > max_bytes:  # the rest of the input is left in inflater.unconsumed_tail
                kind = "gzip" if payload[:2] == _GZIP_MAGIC else "zlib"
                raise Rejection(
                    reasons.TOO_LARGE,
                    f"{size:,}-byte {kind} payload inflates to more than {max_bytes:,} bytes "
                    f"(max_inflated_bytes); {_RAISE_IT}",
                )
            parts.append(chunk)
            position += len(data)
            if inflater.eof:
                break
            if position >= size:
                raise EOFError("compressed payload is truncated")
            data = view[position : position + feed]
            feed *= 2
        position -= len(inflater.unused_data)
        if payload[position : position + 2] != _GZIP_MAGIC:
            break
        data = view[position : position + _FIRST_FEED]
    if position != size and payload.count(b"\x00", position) != size - position:
        raise zlib.error(f"{size - position} bytes of trailing garbage after the compressed data")
    return parts[0] if len(parts) == 1 else b"".join(parts)


# --- decoders ---


def make_decoder(
    kind: str | Callable[[bytes], object],
    *,
    strict_json: bool = True,
    limits: DecodeLimits | None = None,
    is_retryable: Callable[[BaseException], bool] | None = None,
) -> Callable[[bytes], object]:
    """The decoder for ``kind``: ``"json"``, ``"text"``, ``"bytes"`` or a callable ``bytes -> value``.

    A callable (protobuf, Avro, ...) gets the inflated payload; its exceptions become poison
    with reason ``decode_error``, but for those ``is_retryable`` says are not the record's fault (a
    schema registry that timed out), which pass as they are. ``limits`` defaults to :func:`default_limits`.

    >>> decode = make_decoder("json", limits=default_limits(128))
    >>> decode(b'{"TICKER": "AMZN"}')
    {'TICKER': 'AMZN'}
    """
    if limits is None:
        limits = default_limits()
    elif not isinstance(limits, DecodeLimits):
        raise ConfigurationError(f"decode_limits must be a DecodeLimits, got {type(limits).__name__}")
    if callable(kind):
        return _custom_decoder(kind, limits.max_inflated_bytes, is_retryable)
    if kind == "json":
        return _json_decoder(strict_json, limits)
    if kind == "text":
        return _text_decoder(limits.max_inflated_bytes)
    if kind == "bytes":
        return _bytes_decoder(limits.max_inflated_bytes)
    raise ConfigurationError(f"decode must be one of ['bytes', 'json', 'text'] or a callable, got {kind!r}")


def _bytes_decoder(max_inflated: int) -> Callable[[bytes], bytes]:
    def decode_bytes(payload: bytes) -> bytes:
        """The payload as bytes (inflated if compressed)."""
        if not payload:
            raise Rejection(reasons.EMPTY, "record has no data")
        return decompress_if_compressed(payload, max_inflated)

    return decode_bytes


def _text_decoder(max_inflated: int) -> Callable[[bytes], str]:
    def decode_text(payload: bytes) -> str:
        """The payload as UTF-8 text."""
        if not payload:
            raise Rejection(reasons.EMPTY, "record has no data")
        if payload[0] in _COMPRESSED_FIRST_BYTES:
            payload = decompress_if_compressed(payload, max_inflated)
        try:
            return payload.decode()
        except UnicodeDecodeError as error:
            raise Rejection(reasons.INVALID_UTF8, error) from None

    return decode_text


def _custom_decoder(
    decode: Callable[[bytes], object],
    max_inflated: int,
    is_retryable: Callable[[BaseException], bool] | None = None,
) -> Callable[[bytes], object]:
    def decode_custom(payload: bytes) -> object:
        if not payload:
            raise Rejection(reasons.EMPTY, "record has no data")
        payload = decompress_if_compressed(payload, max_inflated)
        try:
            return decode(payload)
        except Rejection:
            raise
        except BaseException as error:  # sys.exit() in a decoder fails its record, not the invocation
            if isinstance(error, NEVER_CAUGHT) or (is_retryable is not None and is_retryable(error)):
                raise
            raise Rejection(reasons.DECODE_ERROR, error) from None

    return decode_custom


def _json_decoder(strict: bool, limits: DecodeLimits) -> Callable[[bytes], dict[str, Any]]:
    decoder = _STRICT if strict else _LENIENT
    scan_once = json.scanner.make_scanner(decoder)  # type: ignore[arg-type]  # typeshed: a class
    max_inflated = limits.max_inflated_bytes
    max_decoded = limits.max_decoded_bytes
    # A text this long or shorter cannot decode to more than max_decoded bytes: no need to look.
    unexamined_length = max_decoded // _WORST_BYTES_PER_CHAR

    def decode_fully(text: str) -> Any:
        try:
            return decoder.decode(text)
        except (ValueError, RecursionError) as error:
            raise Rejection(reasons.INVALID_JSON, error) from None

    def decode_json(payload: bytes) -> dict[str, Any]:
        """The payload as a JSON object (a ``dict``); any other JSON value is poison (``not_an_object``)."""
        if not payload:
            raise Rejection(reasons.EMPTY, "record has no data")
        if payload[0] in _COMPRESSED_FIRST_BYTES:
            payload = decompress_if_compressed(payload, max_inflated)
        try:
            text = payload.decode()
        except UnicodeDecodeError as error:
            raise Rejection(reasons.INVALID_UTF8, error) from None
        length = len(text)
        if length > unexamined_length:
            _check_structure(text, max_decoded)
        try:
            value, end = scan_once(text, 0)
        except StopIteration:
            # Leading whitespace or not JSON at all: the full decoder knows which, and says where.
            value, end = decode_fully(text), length
        except (ValueError, RecursionError) as error:
            raise Rejection(reasons.INVALID_JSON, error) from None
        if end != length and not text[end:].isspace():
            decode_fully(text)  # raises "Extra data" with its position
        # A lone surrogate can only come from an escape: "\\" is found at memchr speed, "\\ud" is not.
        if strict and "\\" in text and ("\\ud" in text or "\\uD" in text):
            _reject_lone_surrogates(value)
        if type(value) is not dict:
            raise Rejection(
                reasons.NOT_AN_OBJECT,
                f"expected a JSON object, got a JSON {_json_kind(value)}",
            )
        return value

    return decode_json


def _check_structure(text: str, max_decoded: int) -> None:
    estimate = (
        _BYTES_PER_CHAR * len(text)
        + _BYTES_PER_ARRAY * text.count("[")
        + _BYTES_PER_OBJECT * text.count("{")
        + _BYTES_PER_COMMA * text.count(",")
    )
    if estimate > max_decoded:
        raise Rejection(
            reasons.TOO_LARGE,
            f"JSON text of {len(text):,} characters would take an estimated {estimate:,} bytes "
            f"as Python objects, more than {max_decoded:,} (max_decoded_bytes); {_RAISE_IT}",
        )


def _reject_constant(constant: str) -> NoReturn:
    raise Rejection(
        reasons.INVALID_JSON,
        f"JSON does not allow {constant} (RFC 8259 section 6); pass strict_json=False to accept it",
    )


def _reject_lone_surrogates(value: object) -> None:
    """Raise if any string in ``value``, key or value, holds a surrogate (only a lone one can)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            for key in item:
                _reject_surrogate_in(key, "key")
            pending.extend(item.values())
        elif type(item) is list:
            pending.extend(item)
        elif type(item) is str:
            _reject_surrogate_in(item, "string")


def _reject_surrogate_in(text: str, where: str) -> None:
    if text.isascii():
        return
    found = NOT_UTF8.search(text)
    if found is not None:
        raise Rejection(
            reasons.INVALID_JSON,
            f"JSON {where} holds a lone surrogate (\\u{ord(found.group()):04x}), which UTF-8 cannot "
            "encode (RFC 8259 section 8.2); pass strict_json=False to accept it",
        )


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


_STRICT = json.JSONDecoder(parse_constant=_reject_constant)
_LENIENT = json.JSONDecoder()

_DEFAULT_LIMITS = default_limits()
#: The default decoders (strict JSON, limits from the function's memory), by name.
decode_json = _json_decoder(True, _DEFAULT_LIMITS)
decode_text = _text_decoder(_DEFAULT_LIMITS.max_inflated_bytes)
decode_bytes = _bytes_decoder(_DEFAULT_LIMITS.max_inflated_bytes)
DECODERS: dict[str, Callable[[bytes], object]] = {
    "json": decode_json,
    "text": decode_text,
    "bytes": decode_bytes,
}
