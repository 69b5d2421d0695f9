"""Decoders: every poison kind is named by its reason, good payloads decode, compression is detected."""

from __future__ import annotations

import gzip
import zlib

import pytest

from shardsafe import decoding, reasons
from shardsafe.decoding import Rejection, custom_decoder, decode_bytes, decode_json, decode_text


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


def test_decompression_bomb_is_poison(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decoding, "MAX_DECOMPRESSED_BYTES", 1000)
    assert reason_of(decode_bytes, gzip.compress(b"\0" * 5000)) == reasons.BAD_COMPRESSION
    assert decode_bytes(gzip.compress(b"\0" * 1000)) == b"\0" * 1000


def test_text_and_bytes_decoders() -> None:
    assert decode_text("héllo".encode()) == "héllo"
    assert reason_of(decode_text, b"\xc3") == reasons.INVALID_UTF8
    assert decode_bytes(b"\x00\x01") == b"\x00\x01"
    assert reason_of(decode_bytes, b"") == reasons.EMPTY


def test_custom_decoder_failure_is_a_decode_error() -> None:
    def parse(payload: bytes) -> int:
        return int(payload)

    decode = custom_decoder(parse)
    assert decode(b"12") == 12
    with pytest.raises(Rejection) as caught:
        decode(b"twelve")
    assert caught.value.reason == reasons.DECODE_ERROR
    assert caught.value.error_type == "ValueError"
