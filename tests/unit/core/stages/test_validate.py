"""FieldSchema: required fields and their JSON types, with messages that say what was wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shardsafe import (
    ConfigurationError,
    FieldSchema,
    MemoryQuarantine,
    StreamProcessor,
    ValidationError,
    reasons,
)
from shardsafe.core.stages.validate import as_validator
from tests import factories

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


# --- what a validator returns, and converting ---


def _handled(event: dict[str, Any], **options: Any) -> tuple[list[Any], MemoryQuarantine]:
    seen: list[Any] = []
    quarantine = MemoryQuarantine()
    StreamProcessor(lambda r: seen.append(r.data), quarantine=quarantine, metrics=False, **options).process(
        event
    )
    return seen, quarantine


@pytest.mark.parametrize(
    "validator",
    [
        re.compile(r"[A-Z]+").match,  # a re.Match: truthy, not the data
        len,  # a count
        lambda text: {"converted": text},  # even what looks like converted data
        lambda text: None,
        lambda text: True,
    ],
)
def test_a_validators_return_value_never_replaces_the_data(validator: Any) -> None:
    seen, quarantine = _handled(factories.kinesis_event(["AMZN"]), decode="text", validate=validator)
    assert seen == ["AMZN"] and not quarantine.envelopes


def test_a_validator_returning_false_or_raising_rejects() -> None:
    event = factories.kinesis_event(["amzn", "AMZN", "x"])
    seen, quarantine = _handled(
        event, decode="text", validate=lambda text: text.isupper() if text != "x" else 1 / 0
    )
    assert seen == ["AMZN"]
    assert [(e.reason, e.error_type) for e in quarantine.envelopes] == [
        (reasons.VALIDATION_ERROR, "shardsafe.Rejection"),
        (reasons.VALIDATION_ERROR, "ZeroDivisionError"),
    ]


@pytest.mark.parametrize("converted", [{"ticker": "amzn"}, re.compile("A").match("A"), None, 0, False])
def test_what_convert_returns_is_the_data_whatever_it_is(converted: Any) -> None:
    seen, quarantine = _handled(
        factories.kinesis_event(["AMZN"]), decode="text", convert=lambda text: converted
    )
    assert seen == [converted] and not quarantine.envelopes


def test_convert_raising_is_a_validation_error_and_validate_checks_what_it_made() -> None:
    checked: list[Any] = []

    def positive(number: int) -> bool:
        checked.append(number)
        return number > 0

    event = factories.kinesis_event(["12", "no", "-3"])
    seen, quarantine = _handled(event, decode="text", convert=int, validate=positive)
    assert seen == [12]
    assert checked == [12, -3]  # the converted values; "no" never converted, so never checked
    assert [(e.reason, e.error_type) for e in quarantine.envelopes] == [
        (reasons.VALIDATION_ERROR, "ValueError"),
        (reasons.VALIDATION_ERROR, "shardsafe.Rejection"),
    ]


def test_a_retryable_failure_of_convert_hands_the_record_back() -> None:
    def convert(data: Any) -> Any:
        raise TimeoutError("lookup timed out")

    event = factories.kinesis_event(count=1)
    result = StreamProcessor(convert=convert, quarantine=MemoryQuarantine(), metrics=False).process(event)
    assert [why.why for _, why in result.handed_back] == ["retryable"]


def test_convert_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="convert must be a callable data -> value, got int: 3"):
        StreamProcessor(convert=3)  # type: ignore[arg-type]
