"""The handler template users copy: validates stock ticks and writes one JSON Lines object per batch and
shard; with an idempotency table, a record Lambda delivers again is not written again (its docstring's
claims, each checked here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from types import ModuleType
from typing import Any

import pytest
from shardsafe_harness import paths

from shardsafe import MemoryQuarantine, reasons
from tests import factories
from tests.factories import json_lines

TEMPLATE = paths.TEMPLATE


class FakeS3:
    def __init__(self, fail: bool = False) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.fail = fail

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        if self.fail:
            raise ConnectionError("S3 is down")
        self.objects[(Bucket, Key)] = Body
        return {}


def load_template() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shardsafe_template_handler", TEMPLATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.delenv("SHARDSAFE_IDEMPOTENCY_TABLE", raising=False)
    module = load_template()
    assert module.processor._idempotency is None
    monkeypatch.setattr(module.processor, "_quarantine", MemoryQuarantine())
    monkeypatch.setattr(module.processor, "_metrics", None)
    return module


def test_valid_ticks_are_processed_and_anything_else_quarantined(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHARDSAFE_OUTPUT_BUCKET", raising=False)
    event = factories.kinesis_event(
        [
            factories.tick("AMZN", 1.5),
            {"ID": "sensor-1", "Tmp": 21, "TimeStamp": "2024-01-01"},  # the other seed shape
            {"EVENT_TIME": "2024-01-01", "TICKER": "AMZN", "PRICE": "12"},
            factories.tick("MSFT", 300),
        ]
    )
    assert template.lambda_handler(event, factories.FakeContext()) == {"batchItemFailures": []}
    quarantined = template.processor._quarantine.envelopes
    assert [e.reason for e in quarantined] == [reasons.VALIDATION_ERROR] * 2
    assert quarantined[1].error_message == "field 'PRICE' must be a number, got a string"


def test_processed_records_are_written_as_one_jsonl_object_per_shard(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(template, "_client", s3)
    event = factories.kinesis_event(
        [factories.tick("A", 1), b"poison", factories.tick("B", 2), factories.tick("C", 3)]
    )
    assert template.lambda_handler(event, factories.FakeContext()) == {"batchItemFailures": []}
    first, last = factories.FIRST_SEQUENCE, factories.FIRST_SEQUENCE + 3
    [(key, body)] = s3.objects.items()
    assert key == ("out", f"processed/{factories.SHARD_ID}/{first}-{last}.jsonl")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["data"]["TICKER"] for line in lines] == ["A", "B", "C"]
    assert lines[0] == {"sequenceNumber": str(first), "partitionKey": "AMZN", "data": factories.tick("A", 1)}


def test_a_retried_batch_overwrites_its_object(template: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(template, "_client", s3)
    event = factories.kinesis_event(count=5)
    template.lambda_handler(event, None)
    template.lambda_handler(event, None)
    assert len(s3.objects) == 1


def test_an_s3_failure_retries_the_batch_instead_of_quarantining_it(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    monkeypatch.setattr(template, "_client", FakeS3(fail=True))
    event = factories.kinesis_event([b"poison", factories.tick("A"), factories.tick("B")])
    response = template.lambda_handler(event, factories.FakeContext())
    sequences = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    assert response == {
        "batchItemFailures": [{"itemIdentifier": sequences[1]}, {"itemIdentifier": sequences[2]}]
    }
    assert [e.reason for e in template.processor._quarantine.envelopes] == [reasons.INVALID_JSON]


def test_importing_the_template_loads_neither_boto3_nor_the_xray_sdk() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('handler', {str(TEMPLATE)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'aws_xray_sdk', 'typing', 'logging') if m in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "[]"


def test_sqs_batches_are_written_by_queue_and_message_ids_and_never_overwrite_each_other(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(template, "_client", s3)
    first = factories.sqs_event([factories.tick("A"), factories.tick("B")])
    second = factories.sqs_event([factories.tick("C")])
    second["Records"][0]["messageId"] = "another-message"
    template.lambda_handler(first, factories.FakeContext())
    template.lambda_handler(second, factories.FakeContext())

    ids = [raw["messageId"] for raw in first["Records"]]
    written = {key: json_lines(body.decode()) for (_, key), body in s3.objects.items()}
    assert written == {
        f"processed/input/{ids[0]}-{ids[1]}.jsonl": [
            {"sequenceNumber": None, "partitionKey": None, "data": factories.tick("A"), "messageId": ids[0]},
            {"sequenceNumber": None, "partitionKey": None, "data": factories.tick("B"), "messageId": ids[1]},
        ],
        "processed/input/another-message-another-message.jsonl": [
            {
                "sequenceNumber": None,
                "partitionKey": None,
                "data": factories.tick("C"),
                "messageId": "another-message",
            }
        ],
    }


# --- a record Lambda delivers again: in the output once with an idempotency table, twice without ---


@pytest.fixture
def idempotent_template(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> ModuleType:
    """The template with SHARDSAFE_IDEMPOTENCY_TABLE set, on DynamoDB as moto serves it."""
    from tests.idempotency_support import create_table

    monkeypatch.setenv("SHARDSAFE_IDEMPOTENCY_TABLE", create_table(dynamodb, "template-idempotency"))
    module = load_template()
    stage = module.processor._idempotency
    assert stage is not None
    monkeypatch.setattr(stage.config.store, "_client", dynamodb)
    monkeypatch.setattr(module.processor, "_quarantine", MemoryQuarantine())
    monkeypatch.setattr(module.processor, "_metrics", None)
    return module


def written_sequences(s3: FakeS3) -> Counter[str]:
    return Counter(
        line["sequenceNumber"] for body in s3.objects.values() for line in json_lines(body.decode())
    )


def split_in_two(event: dict[str, Any]) -> list[dict[str, Any]]:
    """What Lambda delivers after a failed invocation with BisectBatchOnFunctionError: the two halves."""
    middle = len(event["Records"]) // 2
    return [{"Records": event["Records"][:middle]}, {"Records": event["Records"][middle:]}]


def test_without_a_table_a_split_batch_writes_every_record_again(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(template, "_client", s3)
    event = factories.kinesis_event(count=6)
    template.lambda_handler(event, factories.FakeContext())  # written; then the invocation failed
    for half in split_in_two(event):
        template.lambda_handler(half, factories.FakeContext())
    assert len(s3.objects) == 3
    assert set(written_sequences(s3).values()) == {2}


def test_with_a_table_a_split_or_retried_batch_writes_no_record_again(
    idempotent_template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(idempotent_template, "_client", s3)
    event = factories.kinesis_event(count=6)
    idempotent_template.lambda_handler(event, factories.FakeContext())
    for again in [*split_in_two(event), event]:
        assert idempotent_template.lambda_handler(again, factories.FakeContext()) == {"batchItemFailures": []}
    assert len(s3.objects) == 1
    assert set(written_sequences(s3).values()) == {1}


def test_with_a_table_a_death_between_writing_and_marking_done_writes_those_records_again(
    idempotent_template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one window the docstring names: the object written, the function dead before the keys were
    marked done. Once the dead invocation's claims end, the records are written again."""
    from shardsafe.core.idempotency.claims import Claims
    from tests.idempotency_support import Clock

    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(idempotent_template, "_client", s3)
    stage = idempotent_template.processor._idempotency
    clock = Clock()
    stage.clock, stage.sleep = clock.time, clock.sleep
    store = stage.config.store
    event = factories.kinesis_event(count=4)

    class Died(KeyboardInterrupt):
        pass

    def die(*args: Any, **kwargs: Any) -> None:
        raise Died

    with monkeypatch.context() as patch:
        patch.setattr(type(store), "complete", die)
        patch.setattr(Claims, "end", lambda self: None)
        with pytest.raises(Died):
            idempotent_template.lambda_handler(event, factories.FakeContext(remaining_ms=30_000))
    assert set(written_sequences(s3).values()) == {1}

    halves = split_in_two(event)
    response = idempotent_template.lambda_handler(halves[0], factories.FakeContext())
    assert len(response["batchItemFailures"]) == 2  # claimed by the dead invocation: handed back
    clock.advance(31)
    for half in halves:
        idempotent_template.lambda_handler(half, factories.FakeContext())
    assert set(written_sequences(s3).values()) == {2}


def test_the_user_records_of_one_aggregate_written_in_two_parts_keep_two_objects(
    template: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KPL user records share their aggregate's sequence number: the objects are named by sequence and
    sub-sequence number, so a part written after a hand-back does not overwrite the first part's object."""
    from tests import kpl

    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    s3 = FakeS3()
    monkeypatch.setattr(template, "_client", s3)
    users = [("AMZN", None, json.dumps(factories.tick("A", n)).encode()) for n in range(4)]
    event = {"Records": [kpl.aggregated_record(users, sequence=0)]}
    result = template.processor.process(event, factories.FakeContext())
    template.write_batch(result.processed[2:])  # what a later delivery of the last two would write
    sequence = event["Records"][0]["kinesis"]["sequenceNumber"]
    assert sorted(key for _, key in s3.objects) == [
        f"processed/{factories.SHARD_ID}/{sequence}.0-{sequence}.3.jsonl",
        f"processed/{factories.SHARD_ID}/{sequence}.2-{sequence}.3.jsonl",
    ]
