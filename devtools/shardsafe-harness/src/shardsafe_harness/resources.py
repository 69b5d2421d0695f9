"""Streams, queues, functions and event source mappings made directly on a LocalStack, deleted after.

For what the shared Terraform stack (:mod:`shardsafe_harness.stack`) is not: the benchmarks' one
stream and function per run, and tests that exercise LocalStack's Lambda or a bare stream and queue.
Everything made here is deleted by :meth:`Resources.clean`, newest first (or on leaving a ``with``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from shardsafe_harness.clients import localstack_client

__all__ = ["ROLE", "Resources"]

#: LocalStack does not check roles; any ARN of the right shape will do.
ROLE = "arn:aws:iam::000000000000:role/shardsafe-harness"


class Resources:
    """AWS resources on one LocalStack, each deleted by :meth:`clean`; names start with :attr:`prefix`."""

    def __init__(self, endpoint: str, prefix: str = "harness") -> None:
        self.endpoint = endpoint.rstrip("/")
        self.prefix = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.cleanups: list[Callable[[], object]] = []

    def client(self, service: str) -> Any:
        return localstack_client(service, self.endpoint)

    def name(self, role: str = "") -> str:
        """A fresh name under this prefix."""
        return (
            f"{self.prefix}-{role}-{uuid.uuid4().hex[:4]}"
            if role
            else f"{self.prefix}-{uuid.uuid4().hex[:6]}"
        )

    def __enter__(self) -> Resources:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.clean()

    def clean(self) -> list[str]:
        """Delete everything made so far, newest first; the failures, described (LocalStack is thrown away anyway)."""
        failures = []
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:
                failures.append(repr(error))
        self.cleanups.clear()
        return failures

    def queue(self, name: str) -> str:
        """An SQS queue; its URL."""
        sqs = self.client("sqs")
        url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        self.cleanups.append(lambda: sqs.delete_queue(QueueUrl=url))
        return url

    def topic(self, name: str) -> str:
        """An SNS topic; its ARN."""
        sns = self.client("sns")
        arn: str = sns.create_topic(Name=name)["TopicArn"]
        self.cleanups.append(lambda: sns.delete_topic(TopicArn=arn))
        return arn

    def bucket(self, name: str) -> str:
        """An S3 bucket, emptied and deleted by :meth:`clean`; its name."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)

        def delete() -> None:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for item in page.get("Contents", []):
                    s3.delete_object(Bucket=name, Key=item["Key"])
            s3.delete_bucket(Bucket=name)

        self.cleanups.append(delete)
        return name

    def stream(self, name: str, shards: int) -> str:
        """A Kinesis stream, once it exists; its ARN."""
        kinesis = self.client("kinesis")
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        self.cleanups.append(lambda: kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True))
        kinesis.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
        )
        arn: str = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        return arn

    def function(
        self,
        name: str,
        code: bytes,
        *,
        handler: str,
        runtime: str = "python3.13",
        timeout: int = 60,
        memory_mb: int = 128,
        environment: dict[str, str] | None = None,
        layers: list[str] | None = None,
    ) -> str:
        """A Lambda function from a zip's bytes, once it is Active; its name."""
        functions = self.client("lambda")
        functions.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=timeout,
            MemorySize=memory_mb,
            Environment={"Variables": environment or {}},
            Layers=layers or [],
        )
        self.cleanups.append(lambda: functions.delete_function(FunctionName=name))
        functions.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
        )
        return name

    def mapping(
        self, stream_arn: str, function: str, batch_size: int, deadline_s: float = 60, **settings: Any
    ) -> str:
        """An event source mapping from the stream's start, reporting batch item failures, once Enabled; its UUID.

        ``settings`` are more CreateEventSourceMapping parameters (retries, bisect, a destination, tags).
        """
        functions = self.client("lambda")
        mapping_id: str = functions.create_event_source_mapping(
            EventSourceArn=stream_arn,
            FunctionName=function,
            BatchSize=batch_size,
            StartingPosition="TRIM_HORIZON",
            MaximumBatchingWindowInSeconds=0,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            **settings,
        )["UUID"]
        self.cleanups.append(lambda: functions.delete_event_source_mapping(UUID=mapping_id))
        give_up = time.monotonic() + deadline_s
        while functions.get_event_source_mapping(UUID=mapping_id)["State"] != "Enabled":
            if time.monotonic() > give_up:
                raise TimeoutError(
                    f"event source mapping {mapping_id} not Enabled after {deadline_s:.0f} s: see LocalStack's log"
                )
            time.sleep(0.5)
        return mapping_id
