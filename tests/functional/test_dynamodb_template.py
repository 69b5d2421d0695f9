"""The DynamoDB template users copy: validates each record's item (not the stream record) and writes one
JSON object per record, keyed by table and sequence number, so a retried or split batch overwrites."""

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

TEMPLATE = paths.TEMPLATES / "dynamodb_handler.py"


class FakeS3:
    def __init__(self, fail_on: str | None = None) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.fail_on = fail_on

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        if self.fail_on is not None and self.fail_on in Key:
            raise ConnectionError("S3 is down")
        self.objects[(Bucket, Key)] = Body
        return {}


@pytest.fixture
def template(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shardsafe_dynamodb_template", TEMPLATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.processor, "_quarantine", MemoryQuarantine())
    monkeypatch.setattr(module.processor, "_metrics", None)
    monkeypatch.setenv("SHARDSAFE_OUTPUT_BUCKET", "out")
    return module


def change(index: int, name: str = "INSERT", **images: dict[str, Any]) -> dict[str, Any]:
    raw = factories.dynamodb_record(index=index, name=name)
    section = raw["dynamodb"]
    section["Keys"] = {"pk": {"S": f"order-{index}"}}
    section.pop("NewImage")
    for image, value in images.items():
        section[image] = value
    return raw


def order(index: int, amount: str = "12.50", **more: dict[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": f"order-{index}"}, "amount": {"N": amount}, **more}


def test_items_are_validated_and_each_processed_record_is_one_object_by_table_and_sequence(
    template: ModuleType,
) -> None:
    s3 = FakeS3()
    template._client = s3
    event = {
        "Records": [
            change(0, NewImage=order(0, tags={"SS": ["b", "a"]}, blob={"B": "AAE="})),
            change(1, NewImage={"pk": {"S": "order-1"}, "amount": {"S": "12"}}),  # amount not a number
            change(2, "MODIFY", NewImage=order(2, "3"), OldImage=order(2, "2")),
            change(3, "REMOVE", OldImage=order(3, "0.1")),
        ]
    }
    # Time to Live deleted order-3 (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html)
    event["Records"][3]["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert template.lambda_handler(event, factories.FakeContext()) == {"batchItemFailures": []}

    [envelope] = template.processor._quarantine.envelopes
    assert envelope.reason == reasons.VALIDATION_ERROR
    assert envelope.error_message == "field 'amount' must be Decimal, got a string"
    assert json.loads(envelope.payload_bytes() or b"") == event["Records"][1]  # the whole stream record

    written = {key: json.loads(body) for (bucket, key), body in s3.objects.items() if bucket == "out"}
    assert sorted(written) == [f"processed/ticks/{111 + n}.json" for n in (0, 2, 3)]
    assert written["processed/ticks/111.json"] == {
        "table": "ticks",
        "sequenceNumber": "111",
        "eventName": "INSERT",
        "ttlDelete": False,
        "approximateCreationDateTime": 1704067200.0,
        "keys": {"pk": "order-0"},
        "item": {"pk": "order-0", "amount": 12.5, "tags": ["a", "b"], "blob": "AAE="},
    }
    assert written["processed/ticks/113.json"]["item"] == {"pk": "order-2", "amount": 3}
    removed = written["processed/ticks/114.json"]
    assert (removed["eventName"], removed["ttlDelete"], removed["item"]) == (
        "REMOVE",
        True,
        {"pk": "order-3", "amount": 0.1},
    )


def test_a_retried_batch_overwrites_its_objects_and_a_split_one_writes_the_same_keys(
    template: ModuleType,
) -> None:
    s3 = FakeS3()
    template._client = s3
    event = {"Records": [change(n, NewImage=order(n)) for n in range(4)]}
    template.lambda_handler(event, None)
    first = dict(s3.objects)
    template.lambda_handler(event, None)  # retried whole
    template.lambda_handler({"Records": event["Records"][2:]}, None)  # a half of a split batch
    assert s3.objects == first and len(first) == 4


def test_a_number_a_float_would_change_is_written_as_text(template: ModuleType) -> None:
    from decimal import Decimal

    assert template.plain(Decimal("0.1")) == 0.1
    assert template.plain(Decimal("12345678901234567890.123456789")) == "12345678901234567890.123456789"
    assert template.plain(Decimal("1E+3")) == 1000


def test_an_s3_failure_hands_the_record_back_with_what_follows_it(template: ModuleType) -> None:
    template._client = FakeS3(fail_on="/112.json")
    event = {"Records": [change(n, NewImage=order(n)) for n in range(3)]}
    response = template.lambda_handler(event, factories.FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "112"}, {"itemIdentifier": "113"}]}
    assert not template.processor._quarantine.envelopes


def test_importing_the_template_loads_neither_boto3_nor_typing() -> None:
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('dynamodb_handler', {str(TEMPLATE)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'aws_xray_sdk', 'typing', 'logging') if m in sys.modules))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "[]"
