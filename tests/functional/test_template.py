"""The handler template users copy: validates stock ticks and writes one JSON Lines object per batch and shard."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from shardsafe_harness import paths

from shardsafe import MemoryQuarantine, reasons
from tests import factories

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


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shardsafe_template_handler", TEMPLATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
