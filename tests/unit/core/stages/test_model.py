"""Typed records: model= hands the handler the validated instance; what the model refuses is
validation_error with pydantic's messages, on one bounded line."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_validator
from shardsafe_harness import paths

from shardsafe import (
    ConfigurationError,
    KinesisRecord,
    MemoryQuarantine,
    RetryableError,
    StreamProcessor,
    reasons,
)
from shardsafe.core.sources import DynamoDBRecord, SqsRecord
from tests import factories


class Tick(BaseModel):
    TICKER: str
    PRICE: float


class Wide(BaseModel):
    values: list[int]


def run(model: Any, event: dict[str, Any], **options: Any) -> tuple[list[Any], MemoryQuarantine, Any]:
    seen: list[Any] = []
    quarantine = MemoryQuarantine()
    processor = StreamProcessor(
        lambda r: seen.append(r.data), model=model, quarantine=quarantine, metrics=False, **options
    )
    return seen, quarantine, processor.process(event)


def test_the_handler_gets_the_validated_instance() -> None:
    seen, quarantine, result = run(Tick, factories.kinesis_event([{"TICKER": "AMZN", "PRICE": "12.5"}]))
    assert seen == [Tick(TICKER="AMZN", PRICE=12.5)]
    assert type(seen[0]) is Tick
    assert not quarantine.envelopes and result.counts().processed == 1


def test_a_record_the_model_refuses_is_a_validation_error_with_pydantics_messages() -> None:
    event = factories.kinesis_event([{"TICKER": "AMZN", "PRICE": 1}, {"TICKER": 7, "PRICE": "x"}])
    seen, quarantine, _ = run(Tick, event)
    assert [tick.TICKER for tick in seen] == ["AMZN"]
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.VALIDATION_ERROR
    assert envelope.error_type == "pydantic_core._pydantic_core.ValidationError"
    assert envelope.error_message == (
        "2 validation errors for Tick: TICKER: Input should be a valid string [type=string_type]; "
        "PRICE: Input should be a valid number, unable to parse string as a number [type=float_parsing]"
    )
    assert json.loads(envelope.payload_bytes() or b"") == {"TICKER": 7, "PRICE": "x"}  # the bytes as sent


def test_a_thousand_bad_fields_make_a_short_message_that_counts_them() -> None:
    _, quarantine, _ = run(Wide, factories.kinesis_event([{"values": ["x"] * 1000}]))
    [envelope] = quarantine.envelopes
    assert envelope.error_message.startswith("1000 validation errors for Wide: values.0: Input should be")
    assert envelope.error_message.endswith("; and 995 more")
    assert len(envelope.error_message) < 600


def test_a_huge_message_from_a_custom_validator_is_cut() -> None:
    class Loud(BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def shout(cls, value: int) -> int:
            raise ValueError("no " * 5000)

    _, quarantine, _ = run(Loud, factories.kinesis_event([{"x": 1}]))
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.VALIDATION_ERROR
    assert len(envelope.error_message) < 300 and envelope.error_message.endswith("... [type=value_error]")


def test_a_retryable_failure_inside_the_model_hands_the_record_back() -> None:
    class CallsOut(BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def look_up(cls, value: int) -> int:
            raise RetryableError("registry timed out")

    event = factories.kinesis_event([{"x": 1}])
    seen, quarantine, result = run(CallsOut, event)
    assert not seen and not quarantine.envelopes
    assert result.response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]
    }


def test_the_model_validates_an_sqs_body_and_a_dynamodb_item() -> None:
    seen, _, _ = run(Tick, factories.sqs_event([{"TICKER": "A", "PRICE": 1}]))
    assert seen == [Tick(TICKER="A", PRICE=1)]

    class Order(BaseModel):
        pk: str
        amount: Decimal

    event = factories.dynamodb_event([{"pk": {"S": "o-1"}, "amount": {"N": "12.50"}}])
    seen, quarantine, _ = run(Order, event)
    assert seen == [Order(pk="o-1", amount=Decimal("12.50"))] and not quarantine.envelopes


def test_validate_checks_the_instance_the_model_made() -> None:
    event = factories.kinesis_event([{"TICKER": "A", "PRICE": 1}, {"TICKER": "B", "PRICE": -1}, {"PRICE": 2}])
    checked: list[Any] = []

    def positive(tick: Tick) -> bool:
        checked.append(tick)
        return tick.PRICE > 0

    seen, quarantine, _ = run(Tick, event, validate=positive)
    assert [tick.TICKER for tick in seen] == ["A"]
    assert [type(tick) for tick in checked] == [Tick, Tick], "the record the model refused was never checked"
    assert [e.error_message.split(" ")[0] for e in quarantine.envelopes] == ["validator", "1"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            b'{"TICKER": "A", "PRICE": NaN}',
            reasons.INVALID_JSON,
        ),  # pydantic's parser takes NaN; strict JSON not
        (b'{"TICKER": "A", "PRICE": Infinity}', reasons.INVALID_JSON),
        (b'[{"TICKER": "A", "PRICE": 1}]', reasons.NOT_AN_OBJECT),
        (b'{"TICKER": "\\ud800", "PRICE": 1}', reasons.INVALID_JSON),
        (b'{"TICKER": "\xff", "PRICE": 1}', reasons.INVALID_UTF8),
        (b'{"TICKER": "A", "PRICE": 1', reasons.INVALID_JSON),
        (b"", reasons.EMPTY),
        (gzip.compress(b"[" * 10 + b"]" * 10, mtime=0), reasons.NOT_AN_OBJECT),
        (gzip.compress(b" " * 200_000, mtime=0), reasons.TOO_LARGE),
        (b'{"TICKER": "A", "PRICE": "x"}', reasons.VALIDATION_ERROR),
    ],
)
def test_json_the_model_never_sees_as_an_object_is_poison_with_the_decoders_reason(
    payload: bytes, reason: str
) -> None:
    from shardsafe.core.stages.decode import DecodeLimits

    limits = DecodeLimits(max_inflated_bytes=100_000, max_decoded_bytes=10_000_000)
    seen, quarantine, _ = run(Tick, factories.kinesis_event([payload]), decode_limits=limits)
    assert not seen
    [envelope] = quarantine.envelopes
    assert envelope.reason == reason
    assert envelope.payload_bytes() == payload


def test_json_is_validated_in_pydantics_json_mode_compressed_or_not() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(strict=True)
        at: datetime

    text = b'{"at": "2024-01-01T00:00:00"}'  # strict Python mode refuses a str for a datetime; JSON mode reads it
    seen, quarantine, _ = run(Strict, factories.kinesis_event([text, gzip.compress(text)]))
    assert seen == [Strict(at=datetime(2024, 1, 1))] * 2 and not quarantine.envelopes


def test_lenient_json_lets_nan_through_to_the_model() -> None:
    seen, _, _ = run(Tick, factories.kinesis_event([b'{"TICKER": "A", "PRICE": NaN}']), strict_json=False)
    assert [math.isnan(tick.PRICE) for tick in seen] == [True]


def test_a_model_validator_raising_something_else_is_a_validation_error() -> None:
    class Picky(BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def look_up(cls, value: int) -> int:
            return {1: 1}[value]  # KeyError: pydantic passes it through

    _, quarantine, _ = run(Picky, factories.kinesis_event([{"x": 2}]))
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.error_type) == (reasons.VALIDATION_ERROR, "KeyError")


@pytest.mark.parametrize("model", [Tick(TICKER="A", PRICE=1), dict, "Tick", 3])
def test_model_must_be_a_pydantic_model_class(model: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"model must be a pydantic model class .* convert=pydantic\.TypeAdapter"
    ):
        StreamProcessor(model=model)


def test_model_and_convert_are_not_given_together() -> None:
    with pytest.raises(ConfigurationError, match="give model= or convert=, not both"):
        StreamProcessor(model=Tick, convert=dict)


def test_pydantic_is_not_imported_without_a_model() -> None:
    probe = """
import sys, json
from shardsafe import StreamProcessor, FieldSchema
from tests import factories
processor = StreamProcessor(lambda r: None, validate={"TICKER": str}, convert=dict, metrics=False)
processor.process(factories.kinesis_event(count=3))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=paths.REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_typed_handlers_get_their_record_class() -> None:
    # What the type checker sees (tests/functional/test_typing.py) is what runs.
    def on_tick(record: KinesisRecord[Tick]) -> float:
        return record.data.PRICE

    def on_item(record: DynamoDBRecord[Any]) -> Any:
        return record.keys

    def on_message(record: SqsRecord) -> Any:
        return record.message_id

    kept = (
        StreamProcessor(on_tick, model=Tick, metrics=False)
        .process(factories.kinesis_event(count=1))
        .processed
    )
    assert [record.result for record in kept] == [123.45]
    kept = (
        StreamProcessor(on_item, metrics=False)
        .process(factories.dynamodb_event([{"a": {"S": "x"}}]))
        .processed
    )
    assert kept[0].result == {"TICKER": "AMZN", "EVENT_TIME": "2024-01-01T00:00:00"}
    kept = StreamProcessor(on_message, metrics=False).process(factories.sqs_event([{"a": 1}])).processed
    assert kept[0].result == kept[0].raw["messageId"]


def test_a_compressed_payload_is_inflated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model stage inflates a clean compressed payload once, not once to check it and again to parse it."""
    from shardsafe.core.stages import decode, model

    inflated: list[int] = []
    real = decode.decompress_if_compressed

    def counting(payload: bytes, max_bytes: int) -> bytes:
        inflated.append(len(payload))
        return real(payload, max_bytes)

    monkeypatch.setattr(decode, "decompress_if_compressed", counting)
    monkeypatch.setattr(model, "decompress_if_compressed", counting)
    seen, quarantine, _ = run(Tick, factories.kinesis_event([gzip.compress(b'{"TICKER": "A", "PRICE": 1}')]))
    assert seen == [Tick(TICKER="A", PRICE=1)] and not quarantine.envelopes
    assert len(inflated) == 1
