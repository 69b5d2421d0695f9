"""Properties: for any bytes and any event shape, the handler answers success-shaped and accounts for every record."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardsafe import MemoryMetrics, MemoryQuarantine, Record, RetryableError, StreamProcessor
from tests import factories

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
anything = st.recursive(
    json_values | st.binary(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def record_handler(record: Record) -> None:
    data = record.data
    if isinstance(data, dict) and data.get("retry"):
        raise RetryableError("later")
    if isinstance(data, dict) and data.get("boom"):
        raise ValueError("boom")


def check(result: Any, response: Any) -> None:
    assert isinstance(response, dict) and list(response) == ["batchItemFailures"]
    failures = response["batchItemFailures"]
    assert isinstance(failures, list)
    for failure in failures:
        assert list(failure) == ["itemIdentifier"]
        assert isinstance(failure["itemIdentifier"], str) and failure["itemIdentifier"]
    assert result.accounting_ok
    assert result.received == len(result.processed) + len(result.quarantined) + len(result.item_failures)


def run(event: Any, **options: Any) -> tuple[Any, MemoryQuarantine, MemoryMetrics]:
    quarantine, metrics = MemoryQuarantine(), MemoryMetrics()
    processor = StreamProcessor(
        record_handler, quarantine=quarantine, metrics=metrics, tracing=False, **options
    )
    result = processor.process(event, factories.FakeContext())
    check(result, result.response)
    return result, quarantine, metrics


@SETTINGS
@given(payloads=st.lists(st.binary(max_size=300), max_size=20))
def test_any_bytes_are_processed_or_quarantined_with_their_payload(payloads: list[bytes]) -> None:
    result, quarantine, metrics = run(factories.kinesis_event(payloads))
    assert len(result.processed) + len(quarantine.envelopes) == len(payloads)
    sequence_of = {
        record["kinesis"]["sequenceNumber"]: payloads[i]
        for i, record in enumerate(factories.kinesis_event(payloads)["Records"])
    }
    for envelope in quarantine.envelopes:
        assert envelope.payload_bytes() == sequence_of[envelope.record["sequenceNumber"]]
    [batch] = metrics.batches
    assert batch["RecordsProcessed"] + batch["RecordsQuarantined"] + batch["RecordsHandedBack"] == len(
        payloads
    )


@SETTINGS
@given(values=st.lists(json_values, max_size=15), report=st.booleans())
def test_any_json_values_keep_the_accounting(values: list[Any], report: bool) -> None:
    run(
        factories.kinesis_event([factories.to_bytes(v) if not isinstance(v, dict) else v for v in values]),
        report_batch_item_failures=report,
        retry_attempts=0,
    )


@SETTINGS
@given(event=anything)
def test_any_event_shape_never_raises(event: Any) -> None:
    run(event)


@SETTINGS
@given(
    records=st.lists(anything, max_size=8), source=st.sampled_from(["aws:kinesis", "aws:sqs", "aws:dynamodb"])
)
def test_any_records_under_a_known_source_never_raise(records: list[Any], source: str) -> None:
    first = {"eventSource": source}
    run({"Records": [first, *records]})


@SETTINGS
@given(
    data=st.one_of(
        st.text(max_size=40), st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode() + "=")
    )
)
def test_any_data_string_never_raises(data: str) -> None:
    run({"Records": [factories.kinesis_record(raw_data=data)]})
