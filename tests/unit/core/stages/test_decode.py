"""Decoders: every poison kind is named by its reason, good payloads decode, compression is detected.

The memory bounds (``too_large``) are tested in test_decoding_limits.py.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import zlib
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from shardsafe import reasons
from shardsafe.core.errors import ConfigurationError
from shardsafe.core.stages.decode import (
    DECODERS,
    Rejection,
    decode_bytes,
    decode_json,
    decode_text,
    make_decoder,
)


def reason_of(decode: object, payload: bytes) -> str:
    with pytest.raises(Rejection) as caught:
        decode(payload)  # type: ignore[operator]
    return caught.value.reason


def test_json_object_decodes() -> None:
    assert decode_json(b'{"TICKER": "AMZN", "PRICE": 1.5}') == {"TICKER": "AMZN", "PRICE": 1.5}


@pytest.mark.parametrize("payload", [b'  {"a": 1}', b'{"a": 1}\n', b'\t{"a": 1} \r\n'])
def test_json_with_surrounding_whitespace_decodes(payload: bytes) -> None:
    assert decode_json(payload) == {"a": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", reasons.EMPTY),
        (b"\xff\xfe{}", reasons.INVALID_UTF8),
        (b'{"TICKER": "AM', reasons.INVALID_JSON),
        (b'{"a": 1} trailing', reasons.INVALID_JSON),
        (b"   ", reasons.INVALID_JSON),
        (b"not json", reasons.INVALID_JSON),
        (b"[1, 2]", reasons.NOT_AN_OBJECT),
        (b'"a string"', reasons.NOT_AN_OBJECT),
        (b"42", reasons.NOT_AN_OBJECT),
        (b"null", reasons.NOT_AN_OBJECT),
        (b"true", reasons.NOT_AN_OBJECT),
    ],
)
def test_json_poison_is_rejected_with_its_reason(payload: bytes, reason: str) -> None:
    assert reason_of(decode_json, payload) == reason


def test_rejection_names_the_json_error_and_position() -> None:
    with pytest.raises(Rejection) as caught:
        decode_json(b'{"a": ')
    assert caught.value.error_type == "json.decoder.JSONDecodeError"
    assert "char 6" in caught.value.error_message


def test_not_an_object_says_what_it_got() -> None:
    with pytest.raises(Rejection) as caught:
        decode_json(b"[1]")
    assert caught.value.error_message == "expected a JSON object, got a JSON array"


def test_deeply_nested_json_is_poison_not_a_crash() -> None:
    assert reason_of(decode_json, b"[" * 100_000 + b"]" * 100_000) in {
        reasons.INVALID_JSON,
        reasons.NOT_AN_OBJECT,
    }


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
def test_compressed_json_is_inflated_first(compress: object) -> None:
    assert decode_json(compress(b'{"a": 1}')) == {"a": 1}  # type: ignore[operator]


def test_concatenated_gzip_members_are_all_inflated() -> None:
    assert decode_text(gzip.compress(b"hello ") + gzip.compress(b"world")) == "hello world"


def test_broken_gzip_is_poison() -> None:
    assert reason_of(decode_json, gzip.compress(b'{"a": 1}')[:-6]) == reasons.BAD_COMPRESSION
    assert reason_of(decode_json, b"\x1f\x8b\x08garbage") == reasons.BAD_COMPRESSION


def test_text_that_looks_like_a_zlib_header_is_taken_as_text() -> None:
    # "x^" is a valid zlib header checksum; the rest does not inflate, so it is text.
    assert decode_text(b"x^ marks the spot") == "x^ marks the spot"


def test_text_and_bytes_decoders() -> None:
    assert decode_text("héllo".encode()) == "héllo"
    assert reason_of(decode_text, b"\xc3") == reasons.INVALID_UTF8
    assert decode_bytes(b"\x00\x01") == b"\x00\x01"
    assert reason_of(decode_bytes, b"") == reasons.EMPTY


def test_custom_decoder_failure_is_a_decode_error() -> None:
    def parse(payload: bytes) -> int:
        return int(payload)

    decode = make_decoder(parse)
    assert decode(b"12") == 12
    with pytest.raises(Rejection) as caught:
        decode(b"twelve")
    assert caught.value.reason == reasons.DECODE_ERROR
    assert caught.value.error_type == "ValueError"


def test_a_custom_decoder_gets_the_inflated_payload() -> None:
    assert make_decoder(bytes.upper)(gzip.compress(b"abc")) == b"ABC"


# --- make_decoder ---


def test_make_decoder_builds_each_named_kind() -> None:
    payload = b'{"a": 1}'
    assert make_decoder("json")(payload) == {"a": 1}
    assert make_decoder("text")(payload) == '{"a": 1}'
    assert make_decoder("bytes")(payload) == payload
    assert sorted(DECODERS) == ["bytes", "json", "text"]


def test_an_unknown_decoder_kind_names_the_value_and_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigurationError, match=r"one of \['bytes', 'json', 'text'\] or a callable, got 'xml'"
    ):
        make_decoder("xml")


# --- strict JSON (RFC 8259) ---


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ['{"PRICE": %s}', '{"a": [1, {"b": %s}]}'], ids=["value", "nested"])
def test_nan_and_infinity_are_invalid_json(constant: str, where: str) -> None:
    with pytest.raises(Rejection) as caught:
        decode_json((where % constant).encode())
    assert caught.value.reason == reasons.INVALID_JSON
    assert caught.value.error_message == (
        f"JSON does not allow {constant} (RFC 8259 section 6); pass strict_json=False to accept it"
    )


def test_lenient_json_accepts_nan_and_infinity() -> None:
    decoded: Any = make_decoder("json", strict_json=False)(b'{"a": NaN, "b": Infinity, "c": -Infinity}')
    assert math.isnan(decoded["a"])
    assert (decoded["b"], decoded["c"]) == (math.inf, -math.inf)


@pytest.mark.parametrize(
    ("text", "where", "escape"),
    [
        (r'{"a": "\ud800"}', "string", r"\ud800"),
        (r'{"a": "\uDBFF"}', "string", r"\udbff"),
        (r'{"a": "\udc00 trailing"}', "string", r"\udc00"),
        (r'{"a": "x\ud83d"}', "string", r"\ud83d"),
        (r'{"a": "\ud83d\u0041"}', "string", r"\ud83d"),
        (r'{"a": "\ude00\ud83d"}', "string", r"\ude00"),  # a pair the wrong way round is two lone ones
        (r'{"\udfff": 1}', "key", r"\udfff"),
        (r'{"a": [1, {"b": ["ok", "\ud800"]}]}', "string", r"\ud800"),
        (r'{"a": {"b": {"\ud800": null}}}', "key", r"\ud800"),
    ],
)
def test_a_lone_surrogate_is_invalid_json(text: str, where: str, escape: str) -> None:
    with pytest.raises(Rejection) as caught:
        decode_json(text.encode())
    assert caught.value.reason == reasons.INVALID_JSON
    assert caught.value.error_message == (
        f"JSON {where} holds a lone surrogate ({escape}), which UTF-8 cannot encode "
        "(RFC 8259 section 8.2); pass strict_json=False to accept it"
    )


@pytest.mark.parametrize("pair", [r"\ud83d\ude00", r"\uD83D\uDE00"])
def test_a_surrogate_pair_escape_is_one_character(pair: str) -> None:
    assert decode_json(f'{{"{pair}": "{pair}"}}'.encode()) == {"\N{GRINNING FACE}": "\N{GRINNING FACE}"}


def test_an_escaped_backslash_before_ud800_is_plain_text() -> None:
    assert decode_json(rb'{"path": "C:\\ud800"}') == {"path": r"C:\ud800"}


def test_lenient_json_keeps_lone_surrogates() -> None:
    assert make_decoder("json", strict_json=False)(rb'{"\udc00": "\ud800"}') == {"\udc00": "\ud800"}


def test_a_lone_surrogate_in_a_json_array_is_invalid_json_not_the_wrong_type() -> None:
    assert reason_of(decode_json, rb'["\ud800"]') == reasons.INVALID_JSON


# Strings with any character, and strings of surrogates (paired, lone, reversed) among others,
# in keys and values at any depth.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=6) | st.text(
    st.sampled_from(["\ud83d", "\ude00", "\udbff", "\udc00", "a", "\\", "\u00e9"]), max_size=6
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def holds_a_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return any(holds_a_surrogate(key) or holds_a_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_a_surrogate(item) for item in value)
    return False


@given(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=4), st.booleans())
def test_strict_json_rejects_exactly_the_objects_with_a_lone_surrogate(
    document: dict[str, Any], ensure_ascii: bool
) -> None:
    text = json.dumps(document, ensure_ascii=ensure_ascii)
    payload = text.encode("utf-8", "surrogatepass") if not ensure_ascii else text.encode()
    poisoned = holds_a_surrogate(json.loads(text))
    event(f"lone surrogate: {poisoned}, ensure_ascii: {ensure_ascii}")
    if poisoned:
        # Raw surrogates are not UTF-8 at all; escaped ones are not allowed by strict JSON.
        assert reason_of(decode_json, payload) in {reasons.INVALID_UTF8, reasons.INVALID_JSON}
    else:
        assert decode_json(payload) == json.loads(text)
        assert make_decoder("json", strict_json=False)(payload) == json.loads(text)


# --- compression: gzip members and padding ---


def test_zero_padding_after_gzip_members_is_allowed() -> None:
    payload = gzip.compress(b"hello ") + gzip.compress(b"world") + b"\0" * 100
    assert decode_text(payload) == "hello world"


@pytest.mark.parametrize("tail", [b"junk", b"\0\0x", b"\x1f"])
def test_garbage_after_gzip_members_is_bad_compression(tail: bytes) -> None:
    assert reason_of(decode_bytes, gzip.compress(b"hello") + tail) == reasons.BAD_COMPRESSION


def test_a_truncated_later_gzip_member_is_bad_compression() -> None:
    payload = gzip.compress(b"hello") + gzip.compress(b"world" * 100)[:-9]
    assert reason_of(decode_bytes, payload) == reasons.BAD_COMPRESSION


class CountingInflater:
    """zlib.decompressobj that adds up the bytes it is handed."""

    fed = 0

    def __init__(self, wbits: int) -> None:
        self._inflater = REAL_DECOMPRESSOBJ(wbits)

    def decompress(self, data: bytes | memoryview, max_length: int = 0) -> bytes:
        CountingInflater.fed += len(data)
        return self._inflater.decompress(data, max_length)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inflater, name)


REAL_DECOMPRESSOBJ = zlib.decompressobj


@pytest.mark.parametrize(
    "members",
    [
        [b"x"] * 3000,  # the smallest members: each is 21 bytes
        # A large member among small ones.
        [b"x"] * 1000 + [random.Random(1).randbytes(200_000)] + [b"y"] * 1000,
        [random.Random(n).randbytes(50_000) for n in range(20)],
    ],
    ids=["tiny", "mixed", "large"],
)
def test_concatenated_gzip_members_are_fed_to_zlib_in_linear_time(
    members: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Handing each member the rest of the payload copies it again and again (quadratic): 1 MiB of
    # tiny members took over a second. The first member gets the whole payload; each later one gets
    # slices of 64, 64, 128, 256... bytes: less than twice its size plus 64.
    payload = b"".join(gzip.compress(member, mtime=0) for member in members)
    monkeypatch.setattr(zlib, "decompressobj", CountingInflater)
    CountingInflater.fed = 0
    assert decode_bytes(payload) == b"".join(members)
    assert CountingInflater.fed <= len(payload) + 2 * len(payload) + 64 * len(members)
