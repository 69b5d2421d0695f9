"""KPL aggregates on the embedded LocalStack: put by ``shardsafe produce --aggregate``, read by the deployed
handler user record by user record, a poison one quarantined byte-identical with its keys and sub-sequence
number, a corrupt aggregate quarantined whole, and the poison user record re-put on its own by
``shardsafe redrive --to-stream``.

The test deploys its own examples/complete (names under a fresh ``ss-<uuid>`` prefix), so that its queue and
bucket hold nothing but its own load and it can run beside the other end-to-end tests.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.accounting import ManifestRecord
from shardsafe_harness.resources import Resources
from shardsafe_harness.stack import Deployment, Reconciliation, Stack, wait_until_accounted

from demo import function
from shardsafe import reasons
from shardsafe.core.sources.kpl import MAGIC
from shardsafe.ops.cli import main
from shardsafe.ops.produce import KINDS
from shardsafe.ops.produce.aggregate import encode_aggregate

pytestmark = pytest.mark.terraform  # its stack is applied with Terraform: scheduled first

DEADLINE_S = 240
RECORDS = 200


def cli(stack: Stack, *argv: str) -> tuple[int, dict[str, Any]]:
    """``shardsafe <argv>`` against the LocalStack of ``stack``, its JSON summary."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env, redirect_stdout(out):
        env.setenv("AWS_ACCESS_KEY_ID", "test")  # LocalStack's
        env.setenv("AWS_SECRET_ACCESS_KEY", "test")
        status = main(["--endpoint-url", stack.endpoint, "--region", "us-east-1", "--output", "json", *argv])
    return status, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def own_stack(
    localstack_endpoint: str, demo_zip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    deployment = Deployment(
        localstack_endpoint, tmp_path_factory.mktemp("kpl"), demo_zip, handler=function.HANDLER, shard_count=2
    )
    try:
        yield deployment.deploy()
    finally:
        deployment.destroy()


class Fed:
    def __init__(
        self, stack: Stack, manifest: list[ManifestRecord], result: Reconciliation, summary: dict[str, Any]
    ):
        self.stack, self.manifest, self.result, self.summary = stack, manifest, result, summary


CORRUPT = encode_aggregate([("corrupt", None, b'{"TICKER": "X"}')])[:-1] + b"\x00"  # its MD5 broken


@pytest.fixture(scope="module")
def fed(own_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Fed:
    manifest_path = tmp_path_factory.mktemp("kpl-load") / "manifest.jsonl"
    status, summary = cli(
        own_stack,
        "produce",
        "--stream",
        own_stack.stream_name,
        "--count",
        str(RECORDS),
        "--poison",
        "10%",
        "--poison-kinds",
        "binary,invalid_utf8,truncated_json,not_an_object,schema_violation,empty",
        "--seed",
        "27",
        "--aggregate",
        "10",
        "--aggregate-share",
        "50%",
        "--manifest",
        str(manifest_path),
    )
    assert status == 0 and summary["put"] == RECORDS and summary["aggregates"] > 0, summary
    put = own_stack.client("kinesis").put_record(
        StreamName=own_stack.stream_name, Data=CORRUPT, PartitionKey="corrupt"
    )
    lines = [json.loads(line) for line in manifest_path.read_text().splitlines()]
    lines.append(
        {
            "kind": "corrupt_aggregate",
            "partitionKey": "corrupt",
            "shardId": put["ShardId"],
            "sequenceNumber": put["SequenceNumber"],
            "sha256": hashlib.sha256(CORRUPT).hexdigest(),
        }
    )
    manifest = [ManifestRecord.from_manifest(line) for line in lines]
    result, _ = wait_until_accounted(own_stack, manifest, DEADLINE_S)
    return Fed(own_stack, manifest, result, summary)


def test_every_user_record_is_accounted_for_by_its_sub_sequence_number(fed: Fed) -> None:
    result = fed.result
    assert result.unaccounted == [] and result.in_failure_batches == []
    users = [record for record in fed.manifest if record.aggregated]
    assert len(users) == RECORDS // 2 and fed.summary["userRecords"] == len(users)
    assert result.poison_processed == [] and result.good_quarantined == [] and result.payload_mismatches == []
    processed = {record.key for record in result.processed}
    assert {record.key for record in users if record.kind == "good"} <= processed


def test_a_poison_user_record_is_quarantined_with_its_own_bytes_keys_and_sub_sequence_number(
    fed: Fed,
) -> None:
    observed = fed.result.observed
    poison = [record for record in fed.result.quarantined if record.aggregated]
    assert poison, "the load put poison inside aggregates"
    for record in poison:
        [envelope] = observed.quarantined[record.key]
        assert envelope.reason == KINDS[record.kind].reason
        assert envelope.record["subSequenceNumber"] == record.sub_sequence_number
        assert envelope.record["partitionKey"] == record.partition_key
        assert envelope.record["sequenceNumber"] == str(record.sequence_number)
        payload = envelope.payload_bytes()
        assert payload is not None and hashlib.sha256(payload).hexdigest() == record.sha256


def test_a_corrupt_aggregate_is_quarantined_whole_with_a_reason_of_its_own(fed: Fed) -> None:
    [corrupt] = [record for record in fed.manifest if record.kind == "corrupt_aggregate"]
    [envelope] = fed.result.observed.quarantined[corrupt.key]
    assert (envelope.reason, envelope.payload_bytes()) == (reasons.KPL_BAD_CHECKSUM, CORRUPT)
    assert CORRUPT.startswith(MAGIC) and "subSequenceNumber" not in envelope.record


def test_redrive_puts_a_quarantined_user_record_back_on_its_own(
    fed: Fed, localstack_endpoint: str, aws_client: Callable[[str], Any]
) -> None:
    with Resources(localstack_endpoint, prefix="kpl") as made:
        replay = made.name("replay")
        made.stream(replay, 1)
        status, summary = cli(
            fed.stack,
            "redrive",
            "--queue",
            str(fed.stack.outputs["failure_queue_url"]),
            "--to-stream",
            replay,
        )
        assert status == 0, summary
        assert summary["records"]["userRecords"] >= 1
        kinesis = aws_client("kinesis")
        shard = kinesis.list_shards(StreamName=replay)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=replay, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )
        records: list[dict[str, Any]] = []
        position = iterator["ShardIterator"]
        for _ in range(20):  # until the shard is read to its end
            page = kinesis.get_records(ShardIterator=position, Limit=1000)
            records += page["Records"]
            position = page["NextShardIterator"]
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
    put_back = {(r["PartitionKey"], bytes(r["Data"])) for r in records}
    expected = {
        (record.partition_key, envelope.payload_bytes())
        for record in fed.result.quarantined
        if record.aggregated
        for envelope in fed.result.observed.quarantined[record.key]
    }
    # on its own, not re-aggregated: the record's bytes on the stream are the user record's
    assert expected <= put_back, "each quarantined user record is back with its partition key and bytes"
    assert (("corrupt", CORRUPT)) in put_back, "the corrupt aggregate goes back whole"
