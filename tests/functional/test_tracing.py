"""X-Ray: a ``shardsafe.batch`` subsegment per batch, sent over UDP, and no SDK import when tracing is off."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

from shardsafe_harness import paths

from tests import factories

TESTS = paths.TESTS
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"

RUN_ONE_BATCH = """
import json, sys
from tests import factories
from shardsafe import MemoryQuarantine, StreamProcessor
processor = StreamProcessor(quarantine=MemoryQuarantine(), metrics=False)
event = factories.kinesis_event([factories.tick(), b"bad", factories.tick()])
print("RESPONSE", json.dumps(processor(event, factories.FakeContext())))
print("XRAY_IMPORTED", "aws_xray_sdk" in sys.modules)
"""


def run_batch(extra_env: dict[str, str]) -> tuple[dict[str, Any], bool]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_XRAY", "_X_AMZN", "LAMBDA_"))
    }
    env.update(extra_env)
    completed = subprocess.run(
        [sys.executable, "-c", RUN_ONE_BATCH],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = dict(
        line.split(" ", 1) for line in completed.stdout.splitlines() if line.startswith(("RESPONSE", "XRAY"))
    )
    return json.loads(lines["RESPONSE"]), lines["XRAY_IMPORTED"] == "True"


def lambda_env(port: int, sampled: str) -> dict[str, str]:
    return {
        "LAMBDA_TASK_ROOT": str(TESTS),
        "AWS_LAMBDA_FUNCTION_NAME": "shardsafe-test",
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled={sampled}",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


def test_batch_subsegment_is_sent_with_its_annotations() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(30)
        response, imported = run_batch(lambda_env(daemon.getsockname()[1], sampled="1"))
        assert response == {"batchItemFailures": []}
        assert imported
        datagram, _ = daemon.recvfrom(65_535)
    header, body = datagram.decode().split("\n", 1)
    assert json.loads(header) == {"format": "json", "version": 1}
    subsegment = json.loads(body)
    assert subsegment["name"] == "shardsafe.batch"
    assert subsegment["type"] == "subsegment"
    assert subsegment["trace_id"] == TRACE_ID
    assert subsegment["parent_id"] == "53995c3f42cd8ad8"
    assert subsegment["annotations"] == {
        "event_source": "aws:kinesis",
        "shard_id": factories.SHARD_ID,
        "received": 3,
        "processed": 2,
        "skipped": 0,
        "quarantined": 1,
        "handed_back": 0,
        "accounting_ok": True,
    }
    assert subsegment["end_time"] >= subsegment["start_time"]


def test_an_unsampled_invocation_does_not_load_the_sdk() -> None:
    response, imported = run_batch(lambda_env(9, sampled="0"))
    assert response == {"batchItemFailures": []}
    assert not imported


def test_outside_lambda_tracing_is_a_no_op() -> None:
    response, imported = run_batch({"_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Sampled=1"})
    assert response == {"batchItemFailures": []}
    assert not imported


def test_tracing_can_be_turned_off_with_the_sdk_switch() -> None:
    response, imported = run_batch({**lambda_env(9, sampled="1"), "AWS_XRAY_SDK_ENABLED": "false"})
    assert response == {"batchItemFailures": []}
    assert not imported
