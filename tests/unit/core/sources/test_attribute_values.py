"""DynamoDB attribute values read without boto3 give what boto3's TypeDeserializer gives, for every type."""

from __future__ import annotations

import base64
import decimal
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import DYNAMODB_CONTEXT, Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from shardsafe.core.sources.attribute_values import MalformedAttributeValue, deserialize, item

# Numbers DynamoDB stores: up to 38 significant digits, exponents -130..125.
numbers = st.builds(
    lambda digits, exponent: DYNAMODB_CONTEXT.create_decimal(f"{digits}E{exponent}"),
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
    st.integers(min_value=-90, max_value=80),
)
scalars = st.one_of(
    st.text(max_size=20),
    numbers,
    st.binary(max_size=20).map(Binary),
    st.booleans(),
    st.none(),
)
sets = st.one_of(
    st.frozensets(st.text(max_size=10), min_size=1, max_size=5).map(set),
    st.frozensets(numbers, min_size=1, max_size=5).map(set),
    st.frozensets(st.binary(max_size=10).map(Binary), min_size=1, max_size=5).map(set),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
items = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=6)


def as_lambda_sends_it(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value in boto3's low-level shape (bytes for B) as Lambda's JSON event carries it (base64)."""
    ((kind, content),) = value.items()
    if kind == "B":
        return {kind: base64.b64encode(content).decode()}
    if kind == "BS":
        return {kind: [base64.b64encode(one).decode() for one in content]}
    if kind == "L":
        return {kind: [as_lambda_sends_it(inner) for inner in content]}
    if kind == "M":
        return {kind: {name: as_lambda_sends_it(inner) for name, inner in content.items()}}
    return value


@given(items)
def test_items_read_as_boto3_reads_them(python_item: dict[str, Any]) -> None:
    serialized = {name: TypeSerializer().serialize(value) for name, value in python_item.items()}
    expected = {name: TypeDeserializer().deserialize(value) for name, value in serialized.items()}
    got = item({name: as_lambda_sends_it(value) for name, value in serialized.items()})
    assert got == expected
    assert _types(got) == _types(expected, boto3_binary=True)


@given(values)
def test_low_level_shape_with_bytes_reads_the_same(value: Any) -> None:
    serialized = TypeSerializer().serialize(value)
    assert deserialize(serialized) == TypeDeserializer().deserialize(serialized)


def _types(value: Any, *, boto3_binary: bool = False) -> Any:
    """The value's shape by type, with boto3's Binary taken as the bytes shardsafe gives."""
    if isinstance(value, dict):
        return {key: _types(inner, boto3_binary=boto3_binary) for key, inner in value.items()}
    if isinstance(value, list):
        return [_types(inner, boto3_binary=boto3_binary) for inner in value]
    if isinstance(value, set):
        return ("set", sorted({_types(inner, boto3_binary=boto3_binary) for inner in value}))
    if boto3_binary and isinstance(value, Binary):
        return "bytes"
    return type(value).__name__


def test_each_type_reads_as_documented() -> None:
    image = {
        "s": {"S": "x"},
        "n": {"N": "12.50"},
        "b": {"B": base64.b64encode(b"\x00\xff").decode()},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [base64.b64encode(b"\x01").decode()]},
        "l": {"L": [{"N": "1"}, {"S": "y"}]},
        "m": {"M": {"k": {"N": "-3"}}},
    }
    assert item(image) == {
        "s": "x",
        "n": Decimal("12.50"),
        "b": b"\x00\xff",
        "t": True,
        "z": None,
        "ss": {"a", "b"},
        "ns": {Decimal(1), Decimal("2.5")},
        "bs": {b"\x01"},
        "l": [Decimal(1), "y"],
        "m": {"k": Decimal(-3)},
    }
    assert type(item(image)["n"]) is Decimal


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ({"a": {"X": "1"}}, "attribute 'a': DynamoDB has no attribute type 'X'"),
        ({"a": {"N": "one"}}, "attribute 'a': N 'one' is not a number DynamoDB stores"),
        ({"a": {"N": 1}}, "attribute 'a': N must be a string of digits, got int"),
        ({"a": {"N": "1" * 39}}, "is not a number DynamoDB stores"),
        ({"a": {"B": "not base64!"}}, "attribute 'a': B is not base64"),
        ({"a": {"S": "x", "N": "1"}}, "attribute 'a': an attribute value is an object with one type key"),
        ({"a": {"L": {"S": "x"}}}, "attribute 'a': L must be a list, got dict"),
        ({"a": {"M": {"k": {"BOOL": "yes"}}}}, "attribute 'a': BOOL must be true or false, got str"),
        ({"a": "x"}, "attribute 'a': an attribute value is an object with one type key"),
    ],
)
def test_a_malformed_attribute_value_is_named(image: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedAttributeValue, match=message.replace("(", r"\(")):
        item(image)


def test_a_number_boto3_refuses_is_refused_alike_and_one_it_reads_as_nan_is_refused_too() -> None:
    with pytest.raises(decimal.Inexact):
        TypeDeserializer().deserialize({"N": "1" * 39})
    with pytest.raises(MalformedAttributeValue):
        deserialize({"N": "1" * 39})
    assert TypeDeserializer().deserialize({"N": "one"}).is_nan()
    for text in ("one", "NaN", "Infinity"):
        with pytest.raises(MalformedAttributeValue, match="is not a number DynamoDB stores"):
            deserialize({"N": text})
