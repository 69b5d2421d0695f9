"""jsontext writes the same text as json.dumps(..., separators=(",", ":"), ensure_ascii=False)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardsafe.core import jsontext

# Text with what JSON must escape: quotes, backslashes, control characters, lone surrogates.
TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ['"', "\\", "\n\t\x00\x1f", "é中😀", "\ud800", "\u2028"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def dumps(value: Any, **options: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, **options)


@given(VALUES)
def test_the_encoder_writes_what_json_dumps_writes(value: Any) -> None:
    assert jsontext.encoder()(value) == dumps(value)


@given(SCALARS)
def test_a_scalar_is_written_as_json_dumps_writes_it(value: Any) -> None:
    assert jsontext.value(value) == dumps(value)


class Celsius(float):
    """A float subclass: json writes it with float's repr, and so must value()."""

    def __repr__(self) -> str:
        return "Celsius(...)"


class Name(str):
    pass


@pytest.mark.parametrize(
    "value",
    [Celsius(21.5), Name("x"), math.nan, -math.inf, 10**30, True, [1, {"a": None}], {"k": (1, 2)}],
)
def test_subclasses_non_finite_floats_and_containers_go_through_the_encoder(value: Any) -> None:
    assert jsontext.value(value) == dumps(value)


def test_non_string_keys_are_converted_as_json_does() -> None:
    pairs: dict[Any, Any] = {1: "a", 2.5: "b", None: "c", False: "d"}
    assert jsontext.encoder()(pairs) == dumps(pairs)


def test_what_json_cannot_write_raises_as_json_does_or_goes_to_the_default() -> None:
    with pytest.raises(TypeError, match="bytes is not JSON serializable"):
        jsontext.value(b"\x00")
    with pytest.raises(TypeError, match="keys must be str"):
        jsontext.encoder()({(1, 2): "a"})
    assert jsontext.encoder(default=repr)({"raw": b"\x00"}) == dumps({"raw": b"\x00"}, default=repr)
    assert jsontext.value(b"\x00", jsontext.encoder(default=repr)) == dumps(b"\x00", default=repr)


def test_a_circular_structure_fails_instead_of_looping() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        jsontext.encoder()(loop)


# A high and a low surrogate side by side, escaped, read back as the one character they encode.
SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


@given(TEXT.filter(lambda text: not SURROGATE_PAIR.search(text)))
def test_escaped_text_is_utf8_and_sqs_safe_and_decodes_to_the_same_value(text: str) -> None:
    for characters in (jsontext.NOT_UTF8, jsontext.NOT_XML):
        escaped = jsontext.escape(dumps({"k": text}), characters)
        assert characters.search(escaped) is None
        escaped.encode("utf-8")  # raises if a lone surrogate is left
        assert json.loads(escaped) == {"k": text}
