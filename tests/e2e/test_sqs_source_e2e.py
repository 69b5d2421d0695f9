"""examples/sqs-queue deployed on LocalStack: every message sent ends in one place, and no more than
``maximum_concurrency`` invocations run at once.

The example's queue is fed good messages and two kinds of poison (a body that is not JSON, a JSON
body of a kind the function refuses). Each message is followed by its id: a good one must be
processed (its body, byte for byte, in the output bucket) and a poison one quarantined (its body,
byte for byte, in a shardsafe envelope on the quarantine queue), each exactly once, and nothing may
be left in the source queue or reach its dead-letter queue. The function records when each
invocation started and ended; with ``maximum_concurrency = 2`` at most two may overlap, and two do:
the embedded LocalStack runs an SQS mapping's batches concurrently up to that limit
(shardsafe_localstack.sqs_scaling), as AWS does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.stack import deployed_example

from shardsafe import parse_envelope
from tests.e2e import source_handler

pytestmark = pytest.mark.terraform  # its stacks are applied with Terraform: scheduled first

GOOD = 60
POISON_NOT_JSON = 10
POISON_REFUSED = 10
BATCH_SIZE = 5
MAXIMUM_CONCURRENCY = 2
HOLD_SECONDS = 1.0
DEADLINE_S = 240.0


@dataclass
class QueueLoad:
    """What was sent, by id, and what the pipeline left: processed bodies, quarantined payloads, invocations."""

    good: dict[str, bytes]
    poison: dict[str, bytes]
    processed: dict[str, bytes] = field(default_factory=dict)
    quarantined: dict[str, list[bytes]] = field(default_factory=dict)
    unknown_quarantined: list[bytes] = field(default_factory=list)
    invocations: list[dict[str, float]] = field(default_factory=list)
    left_in_queues: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def bodies() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Good and poison message bodies by id. The JSON is compact, as json.dumps would not write it:
    stock LocalStack re-serializes a JSON body (AWS delivers it untouched; shardsafe_localstack.sqs_body
    puts it back), so a changed byte shows here."""
    good = {f"good-{n}": _compact({"id": f"good-{n}", "kind": "good"}) for n in range(GOOD)}
    poison = {f"not-json-{n}": f"{{not json not-json-{n}".encode() for n in range(POISON_NOT_JSON)}
    poison |= {
        f"refused-{n}": _compact({"id": f"refused-{n}", "kind": "refused"}) for n in range(POISON_REFUSED)
    }
    return good, poison


def _compact(value: dict[str, str]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def peak_concurrency(invocations: list[dict[str, float]]) -> int:
    """The most invocations running at one instant, from their start and end times."""
    events = sorted(
        [(item["start"], 1) for item in invocations] + [(item["end"], -1) for item in invocations],
        key=lambda event: (event[0], event[1]),  # an end before a start at the same instant
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_peak_concurrency_counts_overlaps() -> None:
    assert peak_concurrency([{"start": 0, "end": 2}, {"start": 1, "end": 3}, {"start": 2, "end": 4}]) == 2
    assert peak_concurrency([{"start": 0, "end": 1}, {"start": 1, "end": 2}]) == 1


def _queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


@pytest.fixture(scope="module")
def queue_load(
    localstack_endpoint: str,
    source_handler_zip: Path,
    aws_client: Callable[[str], Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[QueueLoad]:
    """examples/sqs-queue deployed, fed once, and read until every message is accounted for (or the deadline)."""
    zip_path = source_handler_zip
    prefix = f"ss-{uuid.uuid4().hex[:8]}"
    s3, sqs = aws_client("s3"), aws_client("sqs")
    bucket = f"{prefix}-output"
    s3.create_bucket(Bucket=bucket)
    variables: dict[str, object] = {
        "name": f"{prefix}-queue",
        "function_zip_path": str(zip_path),
        "handler": source_handler.HANDLER,
        "batch_size": BATCH_SIZE,
        "maximum_concurrency": MAXIMUM_CONCURRENCY,
        "max_receive_count": 3,
        "force_destroy": True,
        "tracing_mode": "PassThrough",
        "environment_variables": {"E2E_OUTPUT_BUCKET": bucket, "E2E_HOLD_SECONDS": str(HOLD_SECONDS)},
        "role_policy_statements": {
            "WriteOutput": {
                "actions": ["s3:PutObject"],
                "resources": [f"arn:aws:s3:::{bucket}/*"],
                "acknowledge_wildcard": True,  # every object of the output bucket
            }
        },
    }
    try:
        with deployed_example(
            "sqs-queue", localstack_endpoint, tmp_path_factory.mktemp("sqs"), variables
        ) as outputs:
            good, poison = bodies()
            load = QueueLoad(good=good, poison=poison, outputs=outputs)
            entries = [(record_id, body) for record_id, body in (good | poison).items()]
            for start in range(0, len(entries), 10):
                sent = sqs.send_message_batch(
                    QueueUrl=outputs["source_queue_url"],
                    Entries=[
                        {"Id": str(n), "MessageBody": body.decode()}
                        for n, (_, body) in enumerate(entries[start : start + 10])
                    ],
                )
                assert not sent.get("Failed"), sent.get("Failed")
            _collect(load, s3, sqs, bucket)
            yield load
    finally:
        for key in source_handler.read_outcomes(s3, bucket, ""):
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)


def _collect(load: QueueLoad, s3: Any, sqs: Any, bucket: str) -> None:
    """Read the output bucket and the quarantine queue until every id is accounted for and the queues are empty."""
    by_payload = {body: record_id for record_id, body in load.poison.items()}
    give_up = time.monotonic() + DEADLINE_S
    while True:
        load.processed = source_handler.read_outcomes(s3, bucket, source_handler.PROCESSED_PREFIX)
        # Quarantine messages are read once and left invisible (deleted by the queue's destroy).
        for message in sqs.receive_message(
            QueueUrl=load.outputs["quarantine_queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=900
        ).get("Messages", []):
            envelope = parse_envelope(message["Body"])
            payload = (envelope.payload_bytes() if envelope else None) or message["Body"].encode()
            if payload in by_payload:
                load.quarantined.setdefault(by_payload[payload], []).append(payload)
            else:
                load.unknown_quarantined.append(payload)
        load.left_in_queues = {
            "source": _queue_depth(sqs, load.outputs["source_queue_url"]),
            "dead-letter": _queue_depth(sqs, load.outputs["source_dead_letter_queue_url"]),
        }
        done = (
            set(load.processed) == set(load.good)
            and set(load.quarantined) == set(load.poison)
            and not any(load.left_in_queues.values())
        )
        if done or time.monotonic() >= give_up:
            break
        time.sleep(1.0)
    load.invocations = [
        json.loads(body)
        for body in source_handler.read_outcomes(s3, bucket, source_handler.INVOCATIONS_PREFIX).values()
    ]


def test_every_good_message_is_processed_byte_identical(queue_load: QueueLoad) -> None:
    missing = sorted(set(queue_load.good) - set(queue_load.processed))
    assert not missing, f"good messages never processed: {missing}"
    changed = [
        record_id for record_id, body in queue_load.good.items() if queue_load.processed[record_id] != body
    ]
    assert not changed, f"processed with other bytes than were sent: {changed}"


def test_every_poison_message_is_quarantined_once_byte_identical(queue_load: QueueLoad) -> None:
    assert set(queue_load.quarantined) == set(queue_load.poison), (
        f"poison never quarantined: {sorted(set(queue_load.poison) - set(queue_load.quarantined))}"
    )
    twice = {
        record_id: len(copies) for record_id, copies in queue_load.quarantined.items() if len(copies) != 1
    }
    assert not twice, f"quarantined more than once: {twice}"
    assert not queue_load.unknown_quarantined, (
        f"quarantined payloads that were never sent: {queue_load.unknown_quarantined[:3]}"
    )


def test_no_message_is_processed_and_quarantined_or_left_behind(queue_load: QueueLoad) -> None:
    assert not set(queue_load.processed) & set(queue_load.poison), "poison was processed"
    assert not set(queue_load.quarantined) & set(queue_load.good), "good messages were quarantined"
    assert queue_load.left_in_queues == {"source": 0, "dead-letter": 0}, (
        f"messages left in the source queue or moved to its dead-letter queue: {queue_load.left_in_queues}"
    )


def test_no_more_than_maximum_concurrency_invocations_run_at_once(queue_load: QueueLoad) -> None:
    records = sum(int(item["records"]) for item in queue_load.invocations)
    assert records >= GOOD + POISON_NOT_JSON + POISON_REFUSED, (
        f"only {records} records in the recorded invocations"
    )
    peak = peak_concurrency(queue_load.invocations)
    assert peak <= MAXIMUM_CONCURRENCY, (
        f"{peak} invocations ran at once; maximum_concurrency is {MAXIMUM_CONCURRENCY}"
    )
    # The limit must have been reached, or the test would pass on a source that never runs two at once.
    assert peak == MAXIMUM_CONCURRENCY, (
        f"at most {peak} invocation(s) ran at once over {len(queue_load.invocations)} batches: "
        f"the mapping never reached its maximum_concurrency of {MAXIMUM_CONCURRENCY}"
    )
