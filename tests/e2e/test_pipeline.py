"""The deployed pipeline on LocalStack: no record stalls a shard, and none is lost.

All tests share one stack and one load (tests/e2e/conftest.py): 400 stock ticks with 10 % poison of
every kind, and one record that crashes the function, over two shards.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.logs import json_lines
from shardsafe_harness.stack import KEEP_STACK_ENV, Deployment, keep_stack, recover_failure_batches

from demo.demo_handler import CRASH_LOG_LINE
from demo.function import CRASH_KIND
from shardsafe.ops.failures import stream_arn_of
from shardsafe.ops.produce import GOOD, KINDS
from shardsafe.ops.redrive import FileTarget, StreamTarget, redrive
from tests.e2e.pipeline_support import FedPipeline, log_messages


def test_every_record_is_accounted_for(fed_pipeline: FedPipeline) -> None:
    result = fed_pipeline.reconciliation
    assert result.unaccounted == [], "records neither processed, quarantined nor in an on-failure batch"
    assert len(result.processed) + len(result.quarantined) + len(result.in_failure_batches) == len(
        fed_pipeline.manifest
    )
    assert result.poison_processed == []
    assert result.good_quarantined == []


def test_good_records_are_all_processed_in_order_within_each_shard(fed_pipeline: FedPipeline) -> None:
    result = fed_pipeline.reconciliation
    good = [r for r in fed_pipeline.manifest if r.kind == "good"]
    failed = {r.coordinates for r in result.in_failure_batches}
    processed = {r.coordinates for r in result.processed}
    assert {r.coordinates for r in good} - failed <= processed, (
        "a good record outside the crashed batch was lost"
    )

    observed = fed_pipeline.reconciliation.observed
    for coordinates, lines in observed.processed.items():
        assert lines[0]["data"] == json.loads(fed_pipeline.data_at(coordinates)), f"{coordinates} changed"
    by_shard: dict[str, list[list[int]]] = defaultdict(list)
    for shard_id, sequence_numbers in observed.processed_batches:
        assert sequence_numbers == sorted(sequence_numbers), f"a batch on {shard_id} is out of order"
        by_shard[shard_id].append(sequence_numbers)
    for shard_id, batches in by_shard.items():
        distinct = sorted({tuple(batch) for batch in batches})
        for earlier, later in itertools.pairwise(distinct):
            assert earlier[-1] < later[0], f"batches on {shard_id} overlap: a record was processed twice"


def test_poison_of_every_kind_is_quarantined_with_its_exact_payload(fed_pipeline: FedPipeline) -> None:
    result = fed_pipeline.reconciliation
    observed = fed_pipeline.reconciliation.observed
    quarantined_kinds = set()
    for record in result.quarantined:
        envelope, kind = observed.quarantined[record.coordinates][0], KINDS[record.kind]
        assert envelope.reason == kind.reason, f"{record.kind} quarantined as {envelope.reason}"
        assert envelope.payload_sha256 == record.sha256
        if kind.payload_inline:
            assert envelope.payload_bytes() == fed_pipeline.data_at(record.coordinates)
        else:  # too big for a message: its bytes in S3, which the accounting read and checked
            assert envelope.claim_check is not None, f"{record.kind} kept as a hash only"
            where = f"{envelope.claim_check.bucket}/{envelope.claim_check.key}"
            assert observed.claim_checked[where] == fed_pipeline.data_at(record.coordinates)
        quarantined_kinds.add(record.kind)
    assert quarantined_kinds == set(KINDS), "every poison kind reached the quarantine"
    assert result.payload_mismatches == []


def test_records_after_poison_on_the_same_shard_are_processed(fed_pipeline: FedPipeline) -> None:
    result = fed_pipeline.reconciliation
    processed_by_shard: dict[str, list[int]] = defaultdict(list)
    for record in result.processed:
        processed_by_shard[record.shard_id].append(record.sequence_number)
    good_by_shard: dict[str, list[int]] = defaultdict(list)
    for record in fed_pipeline.manifest:
        if record.kind == GOOD:
            good_by_shard[record.shard_id].append(record.sequence_number)
    checked = 0
    for record in result.quarantined:
        if not any(n > record.sequence_number for n in good_by_shard[record.shard_id]):
            continue  # the shard's last good record came before it: nothing to show
        later = [n for n in processed_by_shard[record.shard_id] if n > record.sequence_number]
        assert later, f"nothing after the poison record {record.coordinates} was processed: the shard stalled"
        checked += 1
    assert checked, "no poison record had a good record after it on its shard"


def test_poison_records_are_logged_as_json_lines(fed_pipeline: FedPipeline) -> None:
    documents = json_lines(log_messages(fed_pipeline.stack))
    logged = {
        (d.get("shard_id"), int(str(d.get("sequence_number"))))
        for d in documents
        if d.get("event") == "shardsafe.poison" and d.get("sequence_number")
    }
    missing = {r.coordinates for r in fed_pipeline.reconciliation.quarantined} - logged
    assert not missing, f"quarantined records with no poison log line: {sorted(missing)[:5]}"
    summaries = [d for d in documents if d.get("event") == "shardsafe.batch"]
    assert summaries and all(d.get("accounting_ok") is True for d in summaries)


def test_a_crashing_record_is_isolated_by_bisect_retried_then_reported_alone(
    fed_pipeline: FedPipeline,
) -> None:
    result = fed_pipeline.reconciliation
    (crash,) = [r for r in fed_pipeline.manifest if r.kind == CRASH_KIND]
    batches = [b for b in result.failure_batches if b.covers(crash.coordinates)]
    assert len(batches) == 1, "the crashed batch reached the on-failure destination once"
    batch = batches[0]
    # Bisect on function error (emulated by our LocalStack plugin, as on AWS) splits the failing batch
    # down to the crash record: it alone is given up on, every other record of its batch is processed.
    assert (batch.start, batch.end, batch.size) == (crash.sequence_number, crash.sequence_number, 1)
    assert result.in_failure_batches == [crash]
    retries = fed_pipeline.stack.settings["maximum_retry_attempts"]
    assert batch.condition == "RetryAttemptsExhausted"
    assert batch.attempts == retries + 1
    # The stream's ARN (AWS), or its fan-out consumer's (LocalStack names the mapping's source).
    assert (
        stream_arn_of(batch.body["KinesisBatchInfo"]["streamArn"]) == fed_pipeline.stack.outputs["stream_arn"]
    )
    assert batch.size == batch.body["KinesisBatchInfo"]["batchSize"]

    crashes = [m for m in log_messages(fed_pipeline.stack) if m.startswith(CRASH_LOG_LINE)]
    # one crash per invocation that held it: each split on the way down, then the first try and the
    # retries of the record alone (splitting consumes no retry)
    assert len([m for m in crashes if str(crash.sequence_number) in m]) >= retries + 1


def test_the_crashed_batch_is_recovered_from_the_stream_byte_identical(fed_pipeline: FedPipeline) -> None:
    result = fed_pipeline.reconciliation
    recovered = recover_failure_batches(fed_pipeline.stack, result.failure_batches)
    coordinates = [(r.shard_id, int(r.sequence_number)) for r in recovered]
    assert len(coordinates) == len(set(coordinates)), "a record was recovered twice"
    assert sorted(coordinates) == sorted(r.coordinates for r in result.in_failure_batches)
    assert len(recovered) == sum(b.size for b in result.failure_batches)
    for record in recovered:
        assert record.data == fed_pipeline.data_at((record.shard_id, int(record.sequence_number)))


def test_lambdas_real_on_failure_message_redrives_to_a_file_and_to_a_stream(
    fed_pipeline: FedPipeline, tmp_path: Path
) -> None:
    """`redrive` end to end on the message Lambda itself wrote, on a queue and a stream of its own
    (re-putting the crash record on the pipeline's stream would only crash the function again)."""
    stack = fed_pipeline.stack
    sqs, kinesis = stack.client("sqs"), stack.client("kinesis")
    (batch,) = fed_pipeline.reconciliation.failure_batches
    expected = {(r.shard_id, int(r.sequence_number)) for r in fed_pipeline.reconciliation.in_failure_batches}
    queue_url = sqs.create_queue(QueueName=f"{stack.settings['name_prefix']}-redrive")["QueueUrl"]
    target_stream = f"{stack.settings['name_prefix']}-redriven"
    kinesis.create_stream(StreamName=target_stream, ShardCount=1)
    try:
        kinesis.get_waiter("stream_exists").wait(StreamName=target_stream, WaiterConfig={"Delay": 1})
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(batch.body))
        to_file = redrive(sqs, kinesis, queue_url, FileTarget(tmp_path / "failed.jsonl"), wait_time_s=0)
        lines = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]

        assert to_file.records_written == batch.size == len(lines)
        assert {(line["shardId"], int(line["sequenceNumber"])) for line in lines} == expected
        for line in lines:
            data = base64.b64decode(line["data"])
            assert data == fed_pipeline.data_at((line["shardId"], int(line["sequenceNumber"])))
        assert to_file.messages_deleted == 1

        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(batch.body))
        to_stream = redrive(
            sqs, kinesis, queue_url, StreamTarget(kinesis, stream=target_stream), wait_time_s=0
        )
        assert to_stream.records_reput == batch.size
        shard = kinesis.list_shards(StreamName=target_stream)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=target_stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        reput: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while len(reput) < batch.size and time.monotonic() < deadline:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            reput += page["Records"]
            iterator = page["NextShardIterator"]
        assert sorted(r["Data"] for r in reput) == sorted(base64.b64decode(line["data"]) for line in lines)
    finally:
        sqs.delete_queue(QueueUrl=queue_url)
        kinesis.delete_stream(StreamName=target_stream, EnforceConsumerDeletion=True)
        kinesis.get_waiter("stream_not_exists").wait(StreamName=target_stream, WaiterConfig={"Delay": 1})


@pytest.mark.destroys_shared_stack
def test_destroy_leaves_nothing_behind(deployment: Deployment) -> None:
    if keep_stack():
        pytest.skip(f"{KEEP_STACK_ENV}=1 keeps the stack for the next run")
    deployment.destroy()
    assert deployment.terraform.state_resources() == []
    assert deployment.leftovers() == []
