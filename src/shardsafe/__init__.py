"""shardsafe: Kinesis, DynamoDB Streams and SQS batches that never stall on a bad record and never lose one.

    from shardsafe import StreamProcessor

    def handle(record):          # record.data: the decoded JSON object (``async def`` works too)
        ...                      # raise RetryableError (or time out) to retry; other errors quarantine it

    processor = StreamProcessor(handle, validate={"TICKER": str, "PRICE": float})
    lambda_handler = processor   # returns {"batchItemFailures": [...]}, never raises

Importing shardsafe loads neither boto3 nor aws-xray-sdk; the names that need heavier modules
(envelopes, the sinks, the TypedDicts) are loaded when first asked for.
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import (
    BatchIncompleteError,
    ConfigurationError,
    RetryableError,
    ShardsafeError,
    ValidationError,
)
from shardsafe.core.outcomes import BatchResult, HandBack, QuarantinedRecord, Skipped
from shardsafe.core.processor import StreamProcessor
from shardsafe.core.records import Record
from shardsafe.core.sources import DynamoDBRecord, KinesisRecord, SqsRecord
from shardsafe.core.stages.validate import FieldSchema
from shardsafe.core.window import TumblingWindow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shardsafe.core.idempotency import (
        DynamoDBIdempotencyStore,
        Idempotency,
        IdempotencyStore,
        MemoryIdempotencyStore,
    )
    from shardsafe.core.quarantine.envelope import Envelope, build_envelope, message_kind, parse_envelope
    from shardsafe.core.quarantine.memory import MemoryQuarantine
    from shardsafe.core.quarantine.sink import QuarantineSink
    from shardsafe.core.quarantine.sns import SnsQuarantine
    from shardsafe.core.quarantine.sqs import SqsQuarantine
    from shardsafe.core.telemetry.metrics import EmfMetrics, MemoryMetrics
    from shardsafe.core.types import BatchItemFailure, BatchResponse, MetricsSink

__version__ = "0.1.0"

__all__ = [
    "BatchIncompleteError",
    "BatchItemFailure",
    "BatchResponse",
    "BatchResult",
    "ConfigurationError",
    "DynamoDBIdempotencyStore",
    "DynamoDBRecord",
    "EmfMetrics",
    "Envelope",
    "FieldSchema",
    "HandBack",
    "Idempotency",
    "IdempotencyStore",
    "KinesisRecord",
    "MemoryIdempotencyStore",
    "MemoryMetrics",
    "MemoryQuarantine",
    "MetricsSink",
    "QuarantineSink",
    "QuarantinedRecord",
    "Record",
    "RetryableError",
    "ShardsafeError",
    "Skipped",
    "SnsQuarantine",
    "SqsQuarantine",
    "SqsRecord",
    "StreamProcessor",
    "TumblingWindow",
    "ValidationError",
    "build_envelope",
    "message_kind",
    "parse_envelope",
    "reasons",
]

_LAZY = {
    "Idempotency": "shardsafe.core.idempotency",
    "IdempotencyStore": "shardsafe.core.idempotency",
    "MemoryIdempotencyStore": "shardsafe.core.idempotency",
    "DynamoDBIdempotencyStore": "shardsafe.core.idempotency.dynamodb",
    "Envelope": "shardsafe.core.quarantine.envelope",
    "build_envelope": "shardsafe.core.quarantine.envelope",
    "message_kind": "shardsafe.core.quarantine.envelope",
    "parse_envelope": "shardsafe.core.quarantine.envelope",
    "EmfMetrics": "shardsafe.core.telemetry.metrics",
    "MemoryMetrics": "shardsafe.core.telemetry.metrics",
    "MemoryQuarantine": "shardsafe.core.quarantine.memory",
    "QuarantineSink": "shardsafe.core.quarantine.sink",
    "SnsQuarantine": "shardsafe.core.quarantine.sns",
    "SqsQuarantine": "shardsafe.core.quarantine.sqs",
    "BatchItemFailure": "shardsafe.core.types",
    "BatchResponse": "shardsafe.core.types",
    "MetricsSink": "shardsafe.core.types",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shardsafe' has no attribute {name!r}")
    import importlib  # lazy exports keep the cold start small

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
