"""shardsafe: Kinesis, DynamoDB Streams and SQS batches that never stall on a bad record and never lose one.

    from shardsafe import StreamProcessor

    def handle(record):          # record.data: the decoded JSON object (``async def`` works too)
        ...                      # raise RetryableError (or time out) to retry; other errors quarantine it

    processor = StreamProcessor(handle, validate={"TICKER": str, "PRICE": float})
    lambda_handler = processor   # returns {"batchItemFailures": [...]}, never raises

Importing shardsafe loads neither boto3 nor aws-xray-sdk; the names that need heavier modules
(envelopes, the SQS sink, the TypedDicts) are loaded when first asked for.
"""

from __future__ import annotations

from shardsafe import reasons
from shardsafe.errors import (
    BatchIncompleteError,
    ConfigurationError,
    RetryableError,
    ShardsafeError,
    ValidationError,
)
from shardsafe.outcomes import BatchResult, HandBack, QuarantinedRecord
from shardsafe.processor import StreamProcessor
from shardsafe.records import Record
from shardsafe.sources import DynamoDBRecord, KinesisRecord, SqsRecord
from shardsafe.validation import FieldSchema

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shardsafe.envelope import Envelope, build_envelope, message_kind, parse_envelope
    from shardsafe.metrics import EmfMetrics, MemoryMetrics
    from shardsafe.quarantine import MemoryQuarantine, SqsQuarantine
    from shardsafe.shapes import BatchItemFailure, BatchResponse, MetricsSink, QuarantineSink

__version__ = "0.1.0"

__all__ = [
    "BatchIncompleteError",
    "BatchItemFailure",
    "BatchResponse",
    "BatchResult",
    "ConfigurationError",
    "DynamoDBRecord",
    "EmfMetrics",
    "Envelope",
    "FieldSchema",
    "HandBack",
    "KinesisRecord",
    "MemoryMetrics",
    "MemoryQuarantine",
    "MetricsSink",
    "QuarantineSink",
    "QuarantinedRecord",
    "Record",
    "RetryableError",
    "ShardsafeError",
    "SqsQuarantine",
    "SqsRecord",
    "StreamProcessor",
    "ValidationError",
    "build_envelope",
    "message_kind",
    "parse_envelope",
    "reasons",
]

_LAZY = {
    "Envelope": "shardsafe.envelope",
    "build_envelope": "shardsafe.envelope",
    "message_kind": "shardsafe.envelope",
    "parse_envelope": "shardsafe.envelope",
    "EmfMetrics": "shardsafe.metrics",
    "MemoryMetrics": "shardsafe.metrics",
    "MemoryQuarantine": "shardsafe.quarantine",
    "SqsQuarantine": "shardsafe.quarantine",
    "BatchItemFailure": "shardsafe.shapes",
    "BatchResponse": "shardsafe.shapes",
    "MetricsSink": "shardsafe.shapes",
    "QuarantineSink": "shardsafe.shapes",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shardsafe' has no attribute {name!r}")
    import importlib  # lazy exports keep the cold start small

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
