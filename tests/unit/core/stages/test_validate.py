"""FieldSchema: required fields and their JSON types, with messages that say what was wrong."""

from __future__ import annotations

import pytest

from shardsafe import ConfigurationError, FieldSchema, ValidationError
from shardsafe.core.stages.validate import as_validator

TICK = FieldSchema({"EVENT_TIME": str, "TICKER": str, "PRICE": float})


def test_valid_tick_passes() -> None:
    TICK({"EVENT_TIME": "2024-01-01", "TICKER": "AMZN", "PRICE": 1.5, "extra": True})


def test_float_field_accepts_an_integer() -> None:
    TICK({"EVENT_TIME": "2024-01-01", "TICKER": "AMZN", "PRICE": 12})


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(ValidationError, match="field 'PRICE' must be a number, got a boolean"):
        TICK({"EVENT_TIME": "2024-01-01", "TICKER": "AMZN", "PRICE": True})


def test_every_problem_is_listed() -> None:
    with pytest.raises(ValidationError) as caught:
        TICK({"TICKER": 7, "PRICE": "1"})
    assert str(caught.value) == (
        "missing field 'EVENT_TIME'; field 'TICKER' must be a string, got an integer; "
        "field 'PRICE' must be a number, got a string"
    )


def test_non_object_fails() -> None:
    with pytest.raises(ValidationError, match="expected an object, got list"):
        TICK([1])


def test_tuple_of_types_and_integer_only_fields() -> None:
    schema = FieldSchema({"ID": (str, int), "Tmp": int})
    schema({"ID": 3, "Tmp": 20})
    with pytest.raises(ValidationError, match="field 'Tmp' must be an integer, got a number"):
        schema({"ID": "a", "Tmp": 20.5})


def test_schema_errors_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="at least one field"):
        FieldSchema({})
    with pytest.raises(ConfigurationError, match="field 'a' must map to a type"):
        FieldSchema({"a": "str"})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="validate must be a callable or a mapping"):
        as_validator(42)  # type: ignore[arg-type]


def test_a_mapping_becomes_a_field_schema_and_a_callable_stays() -> None:
    assert isinstance(as_validator({"a": str}), FieldSchema)
    assert as_validator(print) is print
    assert as_validator(None) is None
