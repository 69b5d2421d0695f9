"""Memory bounds on decoding: a record that inflates or decodes past them is poison (``too_large``).

These tests assert on the Rejection, never on the process's memory: the bound is checked before
the memory is spent.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import tracemalloc
import zlib
from collections.abc import Callable

import pytest

from shardsafe import reasons
from shardsafe.core.errors import ConfigurationError
from shardsafe.core.stages import decode as decoding
from shardsafe.core.stages.decode import DecodeLimits, Rejection, default_limits, make_decoder

MiB = 1024 * 1024
KINDS = ["json", "text", "bytes", bytes.upper]


def gzip_members(data: bytes, count: int = 4) -> bytes:
    """``data`` as ``count`` concatenated gzip members, each under a quarter of the whole."""
    step = -(-len(data) // count)
    return b"".join(gzip.compress(data[i : i + step]) for i in range(0, len(data), step))


COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "zlib": zlib.compress,
    "gzip members": gzip_members,
}


def rejection(decode: Callable[[bytes], object], payload: bytes) -> Rejection:
    with pytest.raises(Rejection) as caught:
        decode(payload)
    return caught.value


def json_of_length(length: int) -> bytes:
    """A JSON object of exactly ``length`` bytes."""
    return b'{"a":"' + b"x" * (length - 8) + b'"}'


# --- the limits ---


def test_default_limits_are_a_quarter_and_a_sixteenth_of_the_function_memory() -> None:
    assert default_limits(128) == DecodeLimits(max_inflated_bytes=8 * MiB, max_decoded_bytes=32 * MiB)
    assert default_limits(10240) == DecodeLimits(max_inflated_bytes=640 * MiB, max_decoded_bytes=2560 * MiB)


def test_default_limits_follow_the_lambda_memory_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(decoding.MEMORY_ENV, "512")
    assert default_limits() == default_limits(512)
    monkeypatch.delenv(decoding.MEMORY_ENV)
    assert default_limits() == default_limits(decoding.DEFAULT_MEMORY_MB) == default_limits(1024)


@pytest.mark.parametrize("setting", ["lots", "-128", "1.5"])
def test_a_memory_setting_that_is_not_a_number_of_mb_is_named(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(decoding.MEMORY_ENV, setting)
    with pytest.raises(ConfigurationError, match=f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE .* got '{setting}'"):
        default_limits()


@pytest.mark.parametrize("memory_mb", [0, -1, 1.5, True])
def test_default_limits_need_a_positive_number_of_mb(memory_mb: object) -> None:
    with pytest.raises(ConfigurationError, match=f"memory_mb .* got {memory_mb!r}"):
        default_limits(memory_mb)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5, 1.5, "1000", True])
def test_decode_limits_need_a_positive_number_of_bytes(bad: object) -> None:
    with pytest.raises(ConfigurationError, match=f"max_inflated_bytes must be .* got {bad!r}"):
        DecodeLimits(max_inflated_bytes=bad, max_decoded_bytes=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=f"max_decoded_bytes must be .* got {bad!r}"):
        DecodeLimits(max_inflated_bytes=1, max_decoded_bytes=bad)  # type: ignore[arg-type]


def test_decode_limits_are_values() -> None:
    limits = DecodeLimits(max_inflated_bytes=1, max_decoded_bytes=2)
    assert limits == DecodeLimits(1, 2) != DecodeLimits(2, 1)
    assert hash(limits) == hash(DecodeLimits(1, 2))
    assert repr(limits) == "DecodeLimits(max_inflated_bytes=1, max_decoded_bytes=2)"
    with pytest.raises(AttributeError):
        limits.max_decoded_bytes = 3


def test_make_decoder_wants_decode_limits() -> None:
    with pytest.raises(ConfigurationError, match="decode_limits must be a DecodeLimits, got dict"):
        make_decoder("json", limits={"max_inflated_bytes": 1})  # type: ignore[arg-type]


def test_make_decoder_defaults_to_the_limits_of_the_function_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(decoding.MEMORY_ENV, "128")
    decode = make_decoder("bytes")
    assert len(decode(gzip.compress(b"\0" * 8 * MiB))) == 8 * MiB  # type: ignore[arg-type]
    assert rejection(decode, gzip.compress(b"\0" * (8 * MiB + 1))).reason == reasons.TOO_LARGE


# --- inflating ---


@pytest.mark.parametrize("kind", KINDS, ids=["json", "text", "bytes", "custom"])
@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_a_payload_that_inflates_past_the_bound_is_too_large(
    kind: str | Callable[[bytes], object], compression: str
) -> None:
    compress = COMPRESSIONS[compression]
    decode = make_decoder(kind, limits=DecodeLimits(max_inflated_bytes=1000, max_decoded_bytes=10**9))
    assert decode(compress(json_of_length(1000)))
    caught = rejection(decode, compress(json_of_length(1001)))
    assert caught.reason == reasons.TOO_LARGE
    assert "inflates to more than 1,000 bytes (max_inflated_bytes)" in caught.error_message
    assert "decode_limits=DecodeLimits(...)" in caught.error_message


def test_a_zlib_bomb_is_too_large_like_a_gzip_bomb() -> None:
    # It used to raise OverflowError out of the decoder: an internal error, not poison.
    decode = make_decoder("bytes", limits=default_limits(128))
    for compress, name in ((gzip.compress, "gzip"), (zlib.compress, "zlib")):
        bomb = compress(b"\0" * 9 * MiB)
        caught = rejection(decode, bomb)
        assert caught.reason == reasons.TOO_LARGE
        assert caught.error_message.startswith(
            f"{len(bomb):,}-byte {name} payload inflates to more than 8,388,608 bytes (max_inflated_bytes); "
            "give the function more memory, or pass decode_limits=DecodeLimits(...) to raise it"
        )


# --- the JSON structure ---


def pathological(item: str, length: int) -> bytes:
    """A JSON object holding ``[item,item,...]``: about ``length`` bytes."""
    return ('{"a":[' + ",".join([item] * (length // (len(item) + 1))) + "]}").encode()


@pytest.mark.parametrize("item", ["{}", "[]"])
@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_a_small_compressed_record_of_pathological_json_is_too_large(item: str, compression: str) -> None:
    # 10 MB of "[{},{},...]" gzip to 10 KB and would take 240 MiB as Python objects.
    payload = COMPRESSIONS[compression](pathological(item, 10 * MiB))
    assert len(payload) < 64 * 1024
    at_128_mb = make_decoder("json", limits=default_limits(128))
    assert rejection(at_128_mb, payload).reason == reasons.TOO_LARGE  # inflates past 8 MiB
    enough_to_inflate = make_decoder("json", limits=DecodeLimits(64 * MiB, 32 * MiB))
    caught = rejection(enough_to_inflate, payload)
    assert caught.reason == reasons.TOO_LARGE
    assert "as Python objects, more than 33,554,432 (max_decoded_bytes)" in caught.error_message


def test_the_structure_bound_holds_for_uncompressed_json_too() -> None:
    payload = pathological("{}", MiB)  # a Kinesis record can be this large
    caught = rejection(make_decoder("json", limits=default_limits(128)), payload)
    assert caught.reason == reasons.TOO_LARGE
    said = re.fullmatch(
        f"JSON text of {len(payload):,} characters would take an estimated ([0-9,]+) bytes as Python "
        r"objects, more than 33,554,432 \(max_decoded_bytes\); give the function more memory, or pass "
        r"decode_limits=DecodeLimits\(\.\.\.\) to raise it",
        caught.error_message,
    )
    assert said is not None, caught.error_message
    assert int(said.group(1).replace(",", "")) > 32 * MiB


def traced_peak(text: str) -> int:
    """What parsing ``text`` allocates at its peak, in bytes."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        value = json.loads(text)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    del value
    return peak


SHAPES = {
    "nested arrays": "[" * 200 + "]" * 200,
    "nested objects": '{"":' * 200 + "{}" + "}" * 200,
    "objects holding an array": '{"":[]}',
    "empty objects": "{}",
    "empty arrays": "[]",
    "arrays of one number": "[1e5]",
    "4-byte characters": '"\N{GRINNING FACE}"',
    "floats": "0.5",
    "big numbers": "1073741824",
    "small objects": '{"x":1,"y":2}',
    "nine-item arrays": "[0,0,0,0,0,0,0,0,0]",
    "records": json.dumps({"id": 123456, "ts": "2024-05-01T12:00:00Z", "tags": ["a", "b"], "v": 1.5}),
}


@pytest.mark.parametrize("item", list(SHAPES.values()), ids=list(SHAPES))
def test_json_that_would_take_more_than_the_bound_is_too_large(item: str) -> None:
    # The estimate is at or above what parsing really takes (measured here), so a bound just
    # under the real cost rejects the record, whatever its shape.
    text = "[" + ",".join([item] * (300_000 // (len(item) + 1))) + "]"
    cost = traced_peak(text)
    decode = make_decoder("json", limits=DecodeLimits(max_inflated_bytes=MiB, max_decoded_bytes=cost))
    assert rejection(decode, text.encode()).reason == reasons.TOO_LARGE


def small_object(i: int, rnd: random.Random) -> object:
    return {"x": i % 10, "y": rnd.randint(0, 9)}


def event_record(i: int, rnd: random.Random) -> object:
    return {
        "id": 100_000 + i,
        "ts": f"2024-05-{rnd.randint(1, 28):02d}T12:{rnd.randint(0, 59):02d}:00Z",
        "user": {"name": f"user{rnd.randint(0, 999)}", "email": f"u{rnd.randint(0, 99999)}@example.com"},
        "amount": round(rnd.uniform(0, 1000), 2),
        "ok": rnd.random() < 0.5,
        "tags": ["a", "vip"],
    }


def dynamodb_image(i: int, rnd: random.Random) -> object:
    return {"pk": {"S": f"user#{i}"}, "age": {"N": str(rnd.randint(0, 99))}, "ok": {"BOOL": True}}


def one_mib_of(make: Callable[[int, random.Random], object]) -> bytes:
    """``{"records": [...]}`` with as many records from ``make`` as fit in 1 MiB."""
    rnd = random.Random(1)
    items: list[bytes] = []
    size = len(b'{"records":[]}')
    while True:
        item = json.dumps(make(len(items), rnd), separators=(",", ":")).encode()
        if size + len(item) + 1 > MiB:
            return b'{"records":[' + b",".join(items) + b"]}"
        items.append(item)
        size += len(item) + 1


@pytest.mark.parametrize("make", [small_object, event_record, dynamodb_image])
def test_an_ordinary_1_mib_json_record_passes_at_128_mb(make: Callable[[int, random.Random], object]) -> None:
    # Kinesis and SQS records are at most 1 MiB; 128 MB is the smallest function.
    payload = one_mib_of(make)
    assert MiB - 200 < len(payload) <= MiB
    decode = make_decoder("json", limits=default_limits(128))
    assert decode(payload) == json.loads(payload)
    assert decode(gzip.compress(payload)) == json.loads(payload)


def test_a_text_too_short_to_reach_the_bound_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # The hot path: no text costs over 48 bytes a character, so a shorter one is not looked at.
    counted: list[int] = []
    monkeypatch.setattr(decoding, "_check_structure", lambda text, limit: counted.append(len(text)))
    decode = make_decoder("json", limits=DecodeLimits(max_inflated_bytes=MiB, max_decoded_bytes=48 * 1000))
    decode(json_of_length(1000))
    assert counted == []
    decode(json_of_length(1001))
    assert counted == [1001]
