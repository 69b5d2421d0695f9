"""The shapes Lambda sends and expects, and the interface a metrics sink implements.

Only type checkers read this module at import time of the handler; it is imported at run time
when someone asks for one of its names (``from shardsafe import BatchResponse``).
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict


class BatchItemFailure(TypedDict):
    """One record Lambda is to retry: a sequence number or message id; for Kafka, ``{"partition", "offset"}``."""

    itemIdentifier: str | dict[str, Any]


class BatchResponse(TypedDict):
    """What the handler returns: Lambda reads it as success, retrying only the listed records."""

    batchItemFailures: list[BatchItemFailure]


class KinesisData(TypedDict, total=False):
    kinesisSchemaVersion: str
    partitionKey: str
    sequenceNumber: str
    data: str
    approximateArrivalTimestamp: float


class KinesisEventRecord(TypedDict, total=False):
    kinesis: KinesisData
    eventSource: str
    eventVersion: str
    eventID: str
    eventName: str
    invokeIdentityArn: str
    awsRegion: str
    eventSourceARN: str


class StreamEvent(TypedDict):
    """A Kinesis, DynamoDB Streams or SQS event: a list of records."""

    Records: list[dict[str, Any]]


class LambdaContext(Protocol):
    """The parts of the Lambda context object shardsafe reads (all optional at run time)."""

    function_name: str
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class MetricsSink(Protocol):
    """Where batch metrics go (EMF on stdout by default).

    ``aggregated_records`` and ``user_records``: the KPL aggregates of the batch that were read as their
    user records, and how many those held (0 and 0 for a batch without aggregates).
    """

    def record_batch(
        self,
        *,
        processed: int,
        skipped: int,
        quarantined: int,
        handed_back: int,
        duration_ms: float,
        function_name: str | None,
        aggregated_records: int,
        user_records: int,
    ) -> None: ...
