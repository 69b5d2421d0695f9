"""The handlers compared, doing the same work per record: base64, UTF-8, JSON, one business call.

- ``floor``: the fastest plain loop for that work (``bench/functions/floor_handler.py``, which says
  why): the C base64 decoder and JSON scanner called directly, every name bound locally, a poison
  record listed as a batch-item failure. What a handler cannot do in less time; the targets compare
  shardsafe with it.
- ``naive``: the same loop as most people write it, ``json.loads(base64.b64decode(data))``: two
  Python wrappers around those C functions, and global lookups, on every record.
- ``shardsafe``: :class:`shardsafe.StreamProcessor` as a user would deploy it, except that the
  quarantine's SQS client is an in-memory one (envelopes are still built and serialised, only the
  network is left out) and metrics go to :class:`shardsafe.MemoryMetrics` (one call per batch;
  EMF would add one stdout line per batch). Poison and batch log lines are written as in Lambda.
- ``powertools``: aws-lambda-powertools' ``BatchProcessor(event_type=EventType.KinesisDataStreams)``
  with ``process_partial_response``; a poison record raises in the record handler, which is how
  Powertools sees one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from bench.functions import floor_handler
from shardsafe import MemoryMetrics, Record, SqsQuarantine, StreamProcessor

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
CONTENDERS = ("floor", "naive", "shardsafe", "powertools")
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/bench-quarantine"


def business(tick: dict[str, Any]) -> float:
    """The business logic every contender runs on each decoded record: trivial on purpose."""
    return float(tick["PRICE"]) * 2


class LambdaContext:
    """The parts of Lambda's context object the handlers read; a long time left, as in a normal batch."""

    function_name = "shardsafe-bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:shardsafe-bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class MemorySqsClient:
    """Answers ``SendMessageBatch`` as SQS would, without the network; counts what it was sent."""

    def __init__(self) -> None:
        self.messages = 0
        self.body_bytes = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.messages += len(Entries)
        self.body_bytes += sum(len(entry["MessageBody"]) for entry in Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


def floor() -> Handler:
    """The floor: decode and parse each record as fast as plain Python can, call business, list the failures."""
    return floor_handler.make_handler(business)


def naive() -> Handler:
    """The loop most people write: ``json.loads(base64.b64decode(...))``, the failures listed."""

    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            try:
                business(json.loads(base64.b64decode(record["kinesis"]["data"])))
            except Exception:
                failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
        return {"batchItemFailures": failures}

    return handler


def shardsafe(client: MemorySqsClient | None = None) -> Handler:
    """shardsafe's processor: every poison record logged, enveloped and sent to an in-memory SQS."""

    def handle(record: Record) -> float:
        return business(record.data)

    quarantine = SqsQuarantine(QUEUE_URL, client=client or MemorySqsClient())
    return StreamProcessor(handle, quarantine=quarantine, metrics=MemoryMetrics(), tracing=False)


def powertools() -> Handler:
    """Powertools' batch utility; poison raises in the record handler and becomes a batch-item failure."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

    def record_handler(record: Any) -> float:
        return business(record.kinesis.data_as_json())

    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return dict(process_partial_response(event, record_handler, processor, context))

    return handler


def make(name: str) -> Handler:
    """A fresh handler for one of CONTENDERS."""
    factories: dict[str, Callable[[], Handler]] = {
        "floor": floor,
        "naive": naive,
        "shardsafe": shardsafe,
        "powertools": powertools,
    }
    try:
        return factories[name]()
    except KeyError:
        raise ValueError(f"unknown contender {name!r}: choose from {', '.join(CONTENDERS)}") from None
