"""DynamoDB and DynamoDB Streams for the embedded LocalStack, served by moto: no DynamoDB Local download.

LocalStack 2026.3.0's own providers run DynamoDB Local, which they download (from AWS's CDN, and a
jar from GitHub) at first use; this machine cannot reach either. moto, installed with LocalStack,
implements both APIs in Python, in LocalStack's own process. These providers are LocalStack service
plugins (entry points ``dynamodb:shardsafe`` and ``dynamodbstreams:shardsafe`` in the
``localstack.aws.provider`` namespace) that ``shardsafe-localstack up`` selects with
``PROVIDER_OVERRIDE_DYNAMODB=shardsafe`` and ``PROVIDER_OVERRIDE_DYNAMODBSTREAMS=shardsafe``, unless
``SHARDSAFE_LOCALSTACK_DYNAMODB=0`` (stock LocalStack) or the user names providers of their own.

Every DynamoDB operation goes to moto unchanged. DynamoDB Streams goes to moto too, with what moto
gets wrong put right where a Lambda event source mapping or a redrive sees it:

- GetRecords: ``awsRegion`` is the table's region (moto: always us-east-1), ``eventVersion`` is
  ``1.1`` and ``ApproximateCreationDateTime`` is rounded down to the second, as the API reference
  says (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html:
  "in UNIX epoch time format and rounded down to the closest second"); an iterator that is unknown
  or older than 15 minutes is ``ExpiredIteratorException``
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html:
  "A shard iterator expires 15 minutes after it is returned to the requester"), not a crash; moto
  keeps every iterator it hands out, so expired ones are also dropped from moto's memory.
- GetShardIterator: a shard that is not the stream's is ``ResourceNotFoundException``, a missing or
  out-of-range ``SequenceNumber`` for AT_/AFTER_SEQUENCE_NUMBER is ``ValidationException`` /
  ``TrimmedDataAccessException`` naming the value (moto: an assertion, answered as a server error).

And LocalStack's DynamoDB stream poller (`apply`, from the plugin): a record's age is its creation
time, and ``ApproximateCreationDateTime`` reaches the function in whole epoch seconds.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from localstack.aws.api import CommonServiceException, RequestContext, handler
from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import (
    DynamodbstreamsApi,
    ExpiredIteratorException,
    GetRecordsInput,
    GetRecordsOutput,
    GetShardIteratorInput,
    GetShardIteratorOutput,
    ResourceNotFoundException,
    TrimmedDataAccessException,
)
from localstack.aws.forwarder import create_aws_request_context
from localstack.services.moto import call_moto

from shardsafe_localstack.switches import DYNAMODB_ENV, switch

LOG = logging.getLogger(__name__)

ITERATOR_LIFETIME_S = 15 * 60
SEQUENCE_ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


class DynamoDBProvider(DynamodbApi):
    """DynamoDB: every operation is moto's (MotoFallbackDispatcher falls through to it)."""


class DynamoDBStreamsProvider(DynamodbstreamsApi):
    """DynamoDB Streams: moto's, with the records and errors a stream consumer sees made AWS's."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._issued: dict[str, float] = {}  # iterator -> when it was handed out
        self._lock = threading.Lock()

    # expand=False: the request whole, as LocalStack's own providers take it.
    @handler("GetShardIterator", expand=False)
    def get_shard_iterator(  # type: ignore[override]
        self, context: RequestContext, request: GetShardIteratorInput
    ) -> GetShardIteratorOutput:
        stream = call_moto_with_shards(context, request["StreamArn"])
        shard = next((s for s in stream["Shards"] if s["ShardId"] == request["ShardId"]), None)
        if shard is None:
            raise ResourceNotFoundException(
                f"Requested resource not found: Shard {request['ShardId']!r} does not exist in stream "
                f"{request['StreamArn']}; its shards are {[s['ShardId'] for s in stream['Shards']]}"
            )
        if request["ShardIteratorType"] in SEQUENCE_ITERATOR_TYPES:
            check_sequence_number(request, shard)
        response: GetShardIteratorOutput = call_moto(context)
        self._remember(str(response["ShardIterator"]))
        return response

    @handler("GetRecords", expand=False)
    def get_records(  # type: ignore[override]
        self, context: RequestContext, request: GetRecordsInput
    ) -> GetRecordsOutput:
        iterator = request["ShardIterator"]
        with self._lock:
            self._forget_expired(context)
            known = iterator in self._issued
        if not known:
            raise ExpiredIteratorException(
                "Iterator expired: shard iterators expire 15 minutes after they are handed out "
                "(or LocalStack restarted since); get a new one with GetShardIterator"
            )
        response: GetRecordsOutput = call_moto(context)
        if next_iterator := response.get("NextShardIterator"):
            self._remember(next_iterator)
        for record in response.get("Records") or []:
            as_aws_sends(cast(dict[str, Any], record), context.region)
        return response

    def _remember(self, iterator: str) -> None:
        with self._lock:
            self._issued[iterator] = self._clock()

    def _forget_expired(self, context: RequestContext) -> None:
        deadline = self._clock() - ITERATOR_LIFETIME_S
        expired = [iterator for iterator, issued in self._issued.items() if issued < deadline]
        if not expired:
            return
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        for iterator in expired:
            del self._issued[iterator]
            # moto keeps every iterator in one dict per account and region, forever.
            for region in dynamodbstreams_backends.get(context.account_id, {}).values():
                region.shard_iterators.pop(iterator, None)


def call_moto_with_shards(context: RequestContext, stream_arn: str) -> dict[str, Any]:
    """moto's DescribeStream for ``stream_arn``, asked as the caller (same account and region)."""
    local = create_aws_request_context(
        "dynamodbstreams", "DescribeStream", parameters={"StreamArn": stream_arn}, region=context.region
    )
    headers = copy.deepcopy(context.request.headers)
    headers.update(local.request.headers)
    local.request.headers = headers
    described = call_moto(local)
    return dict(described["StreamDescription"])


def check_sequence_number(request: GetShardIteratorInput, shard: dict[str, Any]) -> None:
    """A clear error for a sequence number moto would crash on: missing, not a number, or before the shard."""
    kind = request["ShardIteratorType"]
    value = request.get("SequenceNumber")
    if not value or not str(value).isdigit():
        raise CommonServiceException(
            "ValidationException",
            f"SequenceNumber={value!r}: ShardIteratorType {kind} needs the decimal sequence number "
            "of a record in the shard (a record's dynamodb.SequenceNumber)",
        )
    first = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    if int(value) < first:
        raise TrimmedDataAccessException(
            f"SequenceNumber={value} is before the first record of shard {shard['ShardId']} ({first}): "
            "that record is no longer in the stream; use TRIM_HORIZON to read from the oldest record"
        )


def as_aws_sends(record: dict[str, Any], region: str) -> None:
    """Make one GetRecords record what AWS sends: the region, eventVersion 1.1, the time to the second, the images."""
    record["awsRegion"] = region
    record["eventVersion"] = "1.1"
    stream_record = record.get("dynamodb") or {}
    # moto writes an empty image where AWS writes none: no old image of an insert, no new one of a remove.
    for image, absent_in in (("OldImage", "INSERT"), ("NewImage", "REMOVE")):
        if record.get("eventName") == absent_in and not stream_record.get(image):
            stream_record.pop(image, None)
    created = stream_record.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        if created.tzinfo is None:  # moto writes UTC without saying so
            created = created.replace(tzinfo=UTC)
        stream_record["ApproximateCreationDateTime"] = created.replace(microsecond=0)


# --- The DynamoDB stream poller ---
#
# LocalStack's DynamoDBPoller (lambda_/event_source_mapping/pollers/dynamodb_poller.py) takes a record's
# arrival as "now" (it reads a placeholder key), so MaximumRecordAgeInSeconds never expires a DynamoDB
# record and approximateArrivalOfFirstRecord in DDBStreamBatchInfo is the failure's time; and it sends
# ApproximateCreationDateTime as a float where AWS sends whole epoch seconds
# (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html: "ApproximateCreationDateTime": 1428537600).


def arrival_time(original: Callable[..., float], poller: Any, event: dict[str, Any]) -> float:
    """The patched DynamoDBPoller.get_approximate_arrival_time: the record's creation time."""
    created = (event.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        return created.timestamp()
    if isinstance(created, int | float) and not isinstance(created, bool):
        return float(created)
    return original(poller, event)


def whole_seconds(
    original: Callable[..., list[dict[str, Any]]], poller: Any, *args: Any
) -> list[dict[str, Any]]:
    """The patched DynamoDBPoller.transform_into_events: whole seconds as an integer, as AWS sends them."""
    events = original(poller, *args)
    for event in events:
        change = event.get("dynamodb") or {}
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, float) and created.is_integer():
            change["ApproximateCreationDateTime"] = int(created)
    return events


_applied: list[Any] = []  # the patches in place


def apply() -> None:
    """Patch LocalStack's DynamoDB stream poller in memory; idempotent; only when DynamoDB is moto's."""
    if _applied or not switch(DYNAMODB_ENV):
        return
    from localstack.services.lambda_.event_source_mapping.pollers.dynamodb_poller import DynamoDBPoller
    from localstack.utils.patch import Patch

    for patch in (
        Patch.function(DynamoDBPoller.get_approximate_arrival_time, arrival_time),
        Patch.function(DynamoDBPoller.transform_into_events, whole_seconds),
    ):
        patch.apply()
        _applied.append(patch)


def undo() -> None:
    """Take the patches out again (for tests)."""
    while _applied:
        _applied.pop().undo()
