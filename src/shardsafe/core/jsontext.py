"""Compact JSON text put together from its parts, for the lines written per poison record.

``json.dumps`` builds a new C encoder on every call and walks a dict it must first be handed;
the poison log line and the quarantine envelope have fixed keys, so they are written as
templates with each value encoded here. The text is the same, byte for byte, as
``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` (tests/unit/core/test_jsontext.py
checks that on generated values); whatever is not a plain scalar goes to that encoder.

>>> f'{{"reason":{value("invalid_json")},"size":{value(3)},"sha256":{value(None)}}}'
'{"reason":"invalid_json","size":3,"sha256":null}'
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring as string  # the C escaper behind ensure_ascii=False

try:
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has it
    _c_make_encoder = None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["NOT_UTF8", "NOT_XML", "encoder", "escape", "string", "value"]

#: Lone surrogates: a str may hold them, UTF-8 cannot (writing such a line to stdout fails).
NOT_UTF8 = re.compile("[\ud800-\udfff]")
#: What SQS refuses in a message besides control characters (JSON escapes those): XML 1.0's rule.
NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")

_INFINITY = float("inf")


def encoder(default: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """``json.dumps`` with compact separators and ``ensure_ascii=False``, made once and reused.

    ``JSONEncoder.encode`` builds a new C encoder per call, a third of the time of a short
    line; this one is built here. It does not track containers to report a circular reference:
    one ends in ``RecursionError`` instead of ``ValueError``.
    """
    reference = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=default)
    if _c_make_encoder is None:  # an interpreter without the C accelerator
        return reference.encode
    encode_chunks = _c_make_encoder(None, reference.default, string, None, ":", ",", False, False, True)

    def encode(document: Any) -> str:
        return "".join(encode_chunks(document, 0))

    return encode


_strict = encoder()


def value(item: Any, fallback: Callable[[Any], str] = _strict) -> str:
    """One JSON value; containers and other types go to ``fallback`` (an :func:`encoder`)."""
    kind = type(item)
    if kind is str:
        return string(item)
    if item is None:
        return "null"
    if item is True:
        return "true"
    if item is False:
        return "false"
    if kind is int:
        return int.__repr__(item)
    if kind is float and -_INFINITY < item < _INFINITY:
        return float.__repr__(item)
    return fallback(item)  # NaN, infinities, subclasses, containers: as json does them


def escape(text: str, characters: re.Pattern[str]) -> str:
    """JSON text with every character ``characters`` matches written as a ``\\uXXXX`` escape.

    Outside strings JSON text is ASCII, so such a character is inside a string, where its escape
    reads back as the same character: the text decodes to the same value (but for a high and a
    low surrogate side by side, which read back as the one character they encode together).
    """
    if text.isascii():
        return text
    return characters.sub(_unicode_escape, text)


def _unicode_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
