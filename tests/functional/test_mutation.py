"""What is kept is what Lambda delivered, whatever user code does to the objects it is given.

A handler, a batch handler or a validator may change ``record.data`` and ``record.raw`` as it likes:
the quarantined payload, the envelope, the log parts and ``batchItemFailures`` are read from the
record as delivered, and each in-process retry and each bisection half starts from it.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from shardsafe import MemoryQuarantine, Record, RetryableError, StreamProcessor, reasons
from shardsafe.core.quarantine.envelope import parse_log_fallback
from shardsafe.core.quarantine.sink import QuarantineSink
from shardsafe.core.records import json_bytes
from shardsafe.core.telemetry import logs
from tests import factories


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shardsafe.core.policy.time.sleep", lambda _: None)


def deserialise(image: dict[str, Any]) -> None:
    """What most DynamoDB handlers do: turn ``{"N": "1"}`` into ``"1"``, in place."""
    for name, value in image.items():
        (image[name],) = value.values()


def test_a_dynamodb_handler_that_deserialises_in_place_then_fails_has_the_delivered_record_kept(
    quarantine: MemoryQuarantine,
) -> None:
    event = factories.dynamodb_event([{"TICKER": {"S": "BAD"}, "PRICE": {"N": "1"}}])
    delivered = copy.deepcopy(event)

    def handle(record: Record) -> None:
        deserialise(record.raw["dynamodb"]["NewImage"])
        raise ValueError(f"cannot store {record.data['NewImage']}")

    StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    [envelope] = quarantine.envelopes
    assert envelope.payload_bytes() == json_bytes(delivered["Records"][0])
    assert json.loads(envelope.payload_bytes() or b"")["dynamodb"]["NewImage"]["PRICE"] == {"N": "1"}
    assert event == delivered


def test_a_dynamodb_retry_in_process_gets_the_stream_record_as_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    seen: list[object] = []

    def handle(record: Record) -> None:
        seen.append(record.raw["dynamodb"]["NewImage"]["PRICE"])
        deserialise(record.raw["dynamodb"]["NewImage"])
        if len(seen) == 1:
            raise TimeoutError("the table timed out")

    processor = StreamProcessor(
        handle, report_batch_item_failures=False, retry_attempts=1, quarantine=quarantine, metrics=False
    )
    result = processor.process(factories.dynamodb_event([{"PRICE": {"N": "1"}}]))
    assert seen == [{"N": "1"}, {"N": "1"}]
    assert len(result.processed) == 1 and quarantine.envelopes == []


def test_an_sqs_handler_that_parses_the_body_in_place_is_retried_from_the_body_as_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    bodies: list[object] = []

    def handle(record: Record) -> None:
        record.raw["body"] = json.loads(record.raw["body"])  # the in-place parse
        bodies.append(record.raw["body"])
        if len(bodies) == 1:
            raise TimeoutError("downstream timed out")

    event = factories.sqs_event([factories.tick("A")])
    delivered = copy.deepcopy(event)
    processor = StreamProcessor(
        handle, report_batch_item_failures=False, retry_attempts=1, quarantine=quarantine, metrics=False
    )
    result = processor.process(event)
    assert bodies == [factories.tick("A")] * 2
    assert len(result.processed) == 1 and quarantine.envelopes == []
    assert event == delivered


def test_an_sqs_handler_that_parses_the_body_in_place_then_fails_has_the_body_quarantined(
    quarantine: MemoryQuarantine,
) -> None:
    def handle(record: Record) -> None:
        record.raw["body"] = json.loads(record.raw["body"])
        raise ValueError("no")

    event = factories.sqs_event(['{"TICKER": "A",  "PRICE": 1}'])
    StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    [envelope] = quarantine.envelopes
    assert envelope.payload_bytes() == b'{"TICKER": "A",  "PRICE": 1}'


def test_a_handler_that_rewrites_its_coordinates_hands_back_the_record_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    def handle(record: Record) -> None:
        record.raw["kinesis"]["sequenceNumber"] = "1"
        record.raw["eventSourceARN"] = "arn:aws:kinesis:us-east-1:000000000000:stream/other"
        raise RetryableError("later")

    event = factories.kinesis_event([factories.tick("A")])
    response = StreamProcessor(handle, quarantine=quarantine, metrics=False)(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": str(factories.FIRST_SEQUENCE)}]}


def test_the_raw_a_handler_reads_is_its_own_copy_and_stays_the_same_within_the_call() -> None:
    seen: list[bool] = []

    def handle(record: Record) -> None:
        record.raw["mine"] = True
        seen.append(record.raw["mine"])

    event = factories.kinesis_event([factories.tick("A")])
    StreamProcessor(handle, metrics=False).process(event)
    assert seen == [True] and "mine" not in event["Records"][0]


def test_a_validator_that_changes_its_data_then_rejects_it_has_the_delivered_record_kept(
    quarantine: MemoryQuarantine,
) -> None:
    def validate(data: dict[str, Any]) -> bool:
        deserialise(data["NewImage"])
        return False

    event = factories.dynamodb_event([{"PRICE": {"N": "1"}}])
    delivered = json_bytes(copy.deepcopy(event)["Records"][0])
    StreamProcessor(validate=validate, quarantine=quarantine, metrics=False).process(event)
    [envelope] = quarantine.envelopes
    assert (envelope.reason, envelope.payload_bytes()) == (reasons.VALIDATION_ERROR, delivered)


# --- the batch handler ---


def tickers(records: list[Record]) -> list[str]:
    return [record.data["TICKER"] for record in records]


def test_bisection_halves_get_the_records_as_delivered_not_as_the_batch_handler_left_them(
    quarantine: MemoryQuarantine,
) -> None:
    calls: list[list[str]] = []

    def write(records: list[Record]) -> None:
        prices = [record.data.pop("PRICE") for record in records]  # consumes what it reads
        calls.append(tickers(records))
        if "BAD" in tickers(records):
            raise ValueError(f"cannot write BAD at {prices}")

    names = ["A", "B", "BAD", "C"]
    result = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick(name) for name in names])
    )
    assert [envelope.record["sequenceNumber"] for envelope in quarantine.envelopes] == [
        str(factories.FIRST_SEQUENCE + 2)
    ]
    assert sorted(tickers(result.processed)) == ["A", "B", "C"]
    assert all(
        "PRICE" not in record.data for record in result.processed
    )  # the calls that succeeded changed them


def test_a_batch_handlers_retry_gets_the_records_as_delivered(quarantine: MemoryQuarantine) -> None:
    seen: list[list[float]] = []

    def write(records: list[Record]) -> None:
        seen.append([record.data["PRICE"] for record in records])
        for record in records:
            record.data["PRICE"] = -1.0
        if len(seen) == 1:
            raise TimeoutError("output timed out")

    StreamProcessor(
        batch_handler=write, report_batch_item_failures=False, retry_attempts=1, metrics=False
    ).process(factories.kinesis_event([factories.tick("A", price=2.0)]))
    assert seen == [[2.0], [2.0]]


def test_halves_get_what_the_record_handler_left_not_what_the_batch_handler_did(
    quarantine: MemoryQuarantine,
) -> None:
    def enrich(record: Record) -> str:
        record.data["ENRICHED"] = True  # the record handler's change: the batch handler gets it every time
        return record.data["TICKER"].lower()

    calls: list[list[tuple[str, bool, str]]] = []

    def write(records: list[Record]) -> None:
        calls.append([(r.data["TICKER"], r.data.pop("ENRICHED"), r.result) for r in records])
        if "BAD" in tickers(records):
            raise ValueError("BAD")

    StreamProcessor(enrich, batch_handler=write, quarantine=quarantine, metrics=False).process(
        factories.kinesis_event([factories.tick("A"), factories.tick("BAD")])
    )
    assert calls == [[("A", True, "a"), ("BAD", True, "bad")], [("A", True, "a")], [("BAD", True, "bad")]]
    assert [envelope.error_message for envelope in quarantine.envelopes] == ["BAD"]


def test_a_batch_handlers_quarantined_dynamodb_records_are_the_ones_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    def write(records: list[Record]) -> None:
        for record in records:
            deserialise(record.raw["dynamodb"]["NewImage"])
        raise ValueError("cannot write")

    event = factories.dynamodb_event([{"PRICE": {"N": "1"}}, {"PRICE": {"N": "2"}}])
    delivered = [json_bytes(raw) for raw in copy.deepcopy(event)["Records"]]
    StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False).process(event)
    assert [envelope.payload_bytes() for envelope in quarantine.envelopes] == delivered


# --- the last copy, in the log ---


class Unreachable(QuarantineSink):
    def send(self, envelopes: Any, deadline: float | None = None) -> list[tuple[int, str]]:
        return [(position, "the queue is unreachable") for position in range(len(envelopes))]


def test_the_log_parts_of_a_changed_dynamodb_record_reassemble_to_the_record_delivered(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    big = "x" * 400_000  # more than one log line holds

    def handle(record: Record) -> None:
        record.raw["dynamodb"]["NewImage"]["BLOB"] = {"S": "changed"}
        raise ValueError("no")

    event = factories.dynamodb_event([{"BLOB": {"S": big}}])
    delivered = json_bytes(copy.deepcopy(event)["Records"][0])
    StreamProcessor(handle, quarantine=Unreachable(), metrics=False).process(event)
    fallbacks = [line for line in log_lines() if line["event"] == logs.QUARANTINE_FALLBACK]
    assert len(fallbacks) > 1  # in parts
    [document] = logs.reassemble(fallbacks, "payload_base64")
    envelope = parse_log_fallback(document)
    assert envelope is not None and envelope.payload_bytes() == delivered


def test_the_kinesis_base64_kept_is_the_records_own_even_if_the_handler_rewrote_it(
    quarantine: MemoryQuarantine,
) -> None:
    payload = json.dumps(factories.tick("A")).encode()

    def handle(record: Record) -> None:
        record.raw["kinesis"]["data"] = base64.b64encode(b"rewritten").decode()
        raise ValueError("no")

    StreamProcessor(handle, quarantine=quarantine, metrics=False).process(factories.kinesis_event([payload]))
    [envelope] = quarantine.envelopes
    assert envelope.payload_bytes() == payload


def test_a_dynamodb_handlers_payload_and_what_is_kept_are_the_delivered_bytes_whatever_it_changed(
    quarantine: MemoryQuarantine,
) -> None:
    event = factories.dynamodb_event([{"PRICE": {"N": "1"}}])
    delivered = json_bytes(copy.deepcopy(event)["Records"][0])
    payloads: list[bytes] = []

    def handle(record: Record) -> None:
        deserialise(record.raw["dynamodb"]["NewImage"])
        payloads.append(record.payload)  # read after the change: still the record as delivered
        raise ValueError("no")

    StreamProcessor(handle, quarantine=quarantine, metrics=False).process(event)
    [envelope] = quarantine.envelopes
    assert envelope.payload_bytes() == delivered == payloads[0]


def test_a_dynamodb_record_handed_back_after_its_handler_changed_its_sequence_number_is_named_as_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    def handle(record: Record) -> None:
        record.data["SequenceNumber"] = "1"
        raise RetryableError("later")

    event = factories.dynamodb_event([{"PRICE": {"N": "1"}}, {"PRICE": {"N": "2"}}])
    response = StreamProcessor(handle, quarantine=quarantine, metrics=False)(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "111"}, {"itemIdentifier": "112"}]}


def test_every_in_process_retry_of_a_dynamodb_record_gets_the_stream_record_as_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    seen: list[object] = []

    def handle(record: Record) -> None:
        seen.append(record.raw["dynamodb"]["NewImage"]["PRICE"])
        deserialise(record.raw["dynamodb"]["NewImage"])
        if len(seen) < 3:
            raise TimeoutError("the table timed out")

    processor = StreamProcessor(
        handle, report_batch_item_failures=False, retry_attempts=2, quarantine=quarantine, metrics=False
    )
    result = processor.process(factories.dynamodb_event([{"PRICE": {"N": "1"}}]))
    assert seen == [{"N": "1"}] * 3
    assert len(result.processed) == 1


def test_dynamodb_records_a_batch_handler_hands_back_are_named_as_delivered(
    quarantine: MemoryQuarantine,
) -> None:
    def write(records: list[Record]) -> None:
        for record in records:
            record.data["SequenceNumber"] = "1"
        raise RetryableError("the output is busy")

    event = factories.dynamodb_event([{"PRICE": {"N": "1"}}, {"PRICE": {"N": "2"}}])
    response = StreamProcessor(batch_handler=write, quarantine=quarantine, metrics=False)(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "111"}, {"itemIdentifier": "112"}]}
