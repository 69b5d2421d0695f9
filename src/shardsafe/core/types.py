"""The shapes Lambda sends and expects, and the interfaces a quarantine or metrics sink implements.

Only type checkers read this module at import time of the handler; it is imported at run time
when someone asks for one of its names (``from shardsafe import BatchResponse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypedDict

from shardsafe.core.quarantine.claimcheck import ClaimCheck
from shardsafe.core.quarantine.envelope import Envelope


class BatchItemFailure(TypedDict):
    itemIdentifier: str


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


class QuarantineSink(Protocol):
    """Where poison records go. ``send`` returns the envelopes it could not deliver, each with why.

    ``deadline`` is a ``time.monotonic()`` value by which ``send`` must return (None: no limit):
    what it has not delivered by then it returns, and the processor writes it to the log.
    """

    max_message_bytes: int

    def send(
        self, envelopes: Sequence[Envelope], deadline: float | None = None
    ) -> list[tuple[Envelope, str]]: ...


class ClaimCheckStore(Protocol):
    """Where a record too big for a quarantine message is kept (S3; see :mod:`shardsafe.core.quarantine.claimcheck`).

    A sink that has one says so with a ``claim_checks`` attribute; ``put`` writes ``body`` under the
    store's prefix plus ``key`` and returns where, or raises.
    """

    bucket: str
    prefix: str

    def put(self, key: str, body: bytes, *, sha256: str, deadline: float | None = None) -> ClaimCheck: ...


class MetricsSink(Protocol):
    """Where batch metrics go (EMF on stdout by default)."""

    def record_batch(
        self,
        *,
        processed: int,
        quarantined: int,
        retried: int,
        duration_ms: float,
        function_name: str | None,
    ) -> None: ...
