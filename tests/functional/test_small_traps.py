"""The smaller traps of issue 23, each fixed or refused when the processor is built, and the batch handler's
contract: it reports failures by raising, never by returning them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import ConfigurationError, FieldSchema, MemoryQuarantine, Record, StreamProcessor, reasons
from shardsafe.core.quarantine.envelope import parse_log_fallback
from shardsafe.core.quarantine.sink import QuarantineSink
from shardsafe.core.telemetry import logs
from tests import factories


def sequences(*indexes: int) -> list[str]:
    return [str(factories.FIRST_SEQUENCE + index) for index in indexes]


# --- a number too big for a float ---


def test_a_price_too_big_for_a_float_fails_a_float_field_instead_of_arriving_as_inf(
    quarantine: MemoryQuarantine,
) -> None:
    handled: list[float] = []
    processor = StreamProcessor(
        lambda record: handled.append(record.data["PRICE"]),
        validate={"TICKER": str, "PRICE": float},
        quarantine=quarantine,
        metrics=False,
    )
    payload = b'{"TICKER": "AMZN", "PRICE": 1e999999}'
    processor.process(factories.kinesis_event([payload, factories.tick("B", price=2.5)]))
    assert handled == [2.5]
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.payload_bytes()) == (reasons.VALIDATION_ERROR, payload)
    assert envelope.error_message == "field 'PRICE' must be a finite number, got inf"


def test_a_field_schema_float_takes_integers_and_finite_floats_only() -> None:
    schema = FieldSchema({"PRICE": float})
    schema({"PRICE": 3})
    schema({"PRICE": -1.5e300})
    for value in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="must be a finite number"):
            schema({"PRICE": value})


# --- settings refused when the processor is built ---


@pytest.mark.parametrize("delay", [-0.1, float("nan"), float("inf"), 901, True, "0.1", None])
def test_a_retry_delay_that_is_not_a_number_of_seconds_is_refused_when_built(delay: Any) -> None:
    with pytest.raises(ConfigurationError, match=rf"retry_delay must be a number of seconds .*got {delay!r}"):
        StreamProcessor(lambda record: None, retry_delay=delay)


@pytest.mark.parametrize("attempts", [-1, 1.5, True, "2"])
def test_retry_attempts_that_are_not_a_whole_number_are_refused_when_built(attempts: Any) -> None:
    with pytest.raises(ConfigurationError, match=rf"retry_attempts must be a whole number.*got {attempts!r}"):
        StreamProcessor(lambda record: None, retry_attempts=attempts)


def test_the_retry_delay_bounds_are_accepted() -> None:
    StreamProcessor(lambda record: None, retry_delay=0)
    StreamProcessor(lambda record: None, retry_delay=900.0, retry_attempts=0)


# --- sys.exit() in a validator or a decoder ---


def test_sys_exit_in_a_validator_fails_its_record_as_invalid(quarantine: MemoryQuarantine) -> None:
    def validate(data: dict[str, Any]) -> None:
        if data["TICKER"] == "BAD":
            sys.exit("BAD ticker")

    result = StreamProcessor(validate=validate, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick("BAD"), factories.tick("A")])
    )
    assert [(e.reason, e.error_type, e.error_message) for e in quarantine.envelopes] == [
        (reasons.VALIDATION_ERROR, "SystemExit", "BAD ticker")
    ]
    assert [record.data["TICKER"] for record in result.processed] == ["A"]


def test_sys_exit_in_a_decoder_fails_its_record_as_undecodable(quarantine: MemoryQuarantine) -> None:
    def decode(payload: bytes) -> object:
        if payload.startswith(b"!"):
            sys.exit(3)
        return payload.decode()

    result = StreamProcessor(decode=decode, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([b"!bad", b"good"])
    )
    assert [(e.reason, e.error_type, e.payload_bytes()) for e in quarantine.envelopes] == [
        (reasons.DECODE_ERROR, "SystemExit", b"!bad")
    ]
    assert [record.data for record in result.processed] == ["good"]


# --- coordinates too big for a float ---


@pytest.mark.parametrize(
    ("event", "where"),
    [
        (
            factories.kinesis_event([factories.kinesis_record(b"{bad")]),
            lambda raw: raw["kinesis"].__setitem__("approximateArrivalTimestamp", 10**400),
        ),
        (
            factories.dynamodb_event([{"A": {"S": "x"}}]),
            lambda raw: raw["dynamodb"].__setitem__("ApproximateCreationDateTime", 10**400),
        ),
        (
            factories.sqs_event(["{bad"]),
            lambda raw: raw["attributes"].__setitem__("SentTimestamp", "9" * 400),
        ),
    ],
    ids=["kinesis", "dynamodb", "sqs"],
)
def test_a_timestamp_too_big_for_a_float_is_described_as_none(
    event: dict[str, Any], where: Callable[[dict[str, Any]], None], quarantine: MemoryQuarantine
) -> None:
    where(event["Records"][0])

    def fail(record: Record) -> None:
        raise ValueError("poison")

    StreamProcessor(fail, quarantine=quarantine, metrics=False).process(event)
    [envelope] = quarantine.envelopes
    assert envelope.record["approximateArrivalTimestamp"] is None


# --- an empty payload, read back from the log ---


class Unreachable(QuarantineSink):
    def send(self, envelopes: Any, deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, "unreachable") for position in range(len(envelopes))]


def test_an_empty_payload_read_back_from_the_log_is_empty_bytes_not_none(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    StreamProcessor(quarantine=Unreachable(), metrics=False).process(factories.kinesis_event([b""]))
    [line] = [line for line in log_lines() if line["event"] == logs.QUARANTINE_FALLBACK]
    envelope = parse_log_fallback(line)
    assert envelope is not None and envelope.reason == reasons.EMPTY
    assert envelope.payload_bytes() == b""


# --- the batch handler's contract: failures are raised, never returned ---


def write_all_but(bad: str) -> Callable[[list[Record]], list[Record]]:
    """A batch handler written for another contract: it returns the records it could not write."""

    def write(records: list[Record]) -> list[Record]:
        return [record for record in records if record.data["TICKER"] == bad]

    return write


def test_a_batch_handler_that_returns_the_records_it_failed_has_exactly_those_quarantined(
    quarantine: MemoryQuarantine,
) -> None:
    names = ["A", "BAD", "B", "C"]
    result = StreamProcessor(
        batch_handler=write_all_but("BAD"), quarantine=quarantine, metrics=False
    ).process(factories.kinesis_event([factories.tick(name) for name in names]))
    assert [envelope.record["sequenceNumber"] for envelope in quarantine.envelopes] == sequences(1)
    [envelope] = quarantine.envelopes
    assert envelope.reason == reasons.HANDLER_ERROR and envelope.error_type == "TypeError"
    assert "returned 1 of the 1 records it was given" in envelope.error_message
    assert sorted(record.data["TICKER"] for record in result.processed) == ["A", "B", "C"]


def test_a_batch_handler_that_returns_a_batch_item_failures_response_fails_loudly(
    quarantine: MemoryQuarantine,
) -> None:
    def write(records: list[Record]) -> dict[str, Any]:
        return {"batchItemFailures": []}

    result = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick("A")])
    )
    assert result.processed == []
    [envelope] = quarantine.envelopes
    assert "returned a batchItemFailures response" in envelope.error_message


@pytest.mark.parametrize(
    "returned",
    [None, 3, "ok", [], ["id-1"], {"written": 2}, (object(),)],
    ids=["none", "a-count", "a-string", "an-empty-list", "ids", "a-dict", "other-objects"],
)
def test_a_batch_handler_that_returns_anything_but_its_records_has_them_processed(
    returned: Any, quarantine: MemoryQuarantine
) -> None:
    result = StreamProcessor(
        batch_handler=lambda records: returned, quarantine=quarantine, metrics=False
    ).process(factories.kinesis_event([factories.tick("A"), factories.tick("B")]))
    assert len(result.processed) == 2 and quarantine.envelopes == []


def test_an_async_batch_handler_that_returns_its_failures_is_held_to_the_same_contract(
    quarantine: MemoryQuarantine,
) -> None:
    async def write(records: list[Record]) -> list[Record]:
        return [record for record in records if record.data["TICKER"] == "BAD"]

    StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick("BAD"), factories.tick("A")])
    )
    assert [json.loads(e.payload_bytes() or b"")["TICKER"] for e in quarantine.envelopes] == ["BAD"]
