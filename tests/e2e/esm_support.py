"""Small stream pipelines built straight with boto3 on LocalStack: a stream, a function, a mapping.

For the end-to-end tests of what the embedded LocalStack adds to stock LocalStack (bisect on error,
the memory limit, the batching window), which need mappings the module's examples do not make.
A test function logs ``BATCH <json list of sequence numbers>`` for each batch it completes.
"""

from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shardsafe_harness.logs import log_messages

from shardsafe.ops.aws import make_client

ROLE = "arn:aws:iam::000000000000:role/lambda-test"
BATCH_LINE = "BATCH "

# Completes a batch unless a record's data is b"crash" (the process dies, as a segfault would) or
# b"allocate:<MB>" (it holds that much memory).
RECORDING_FUNCTION = """
import base64, json, os, sys
HELD = []
def handler(event, context):
    numbers = []
    for record in event["Records"]:
        data = base64.b64decode(record["kinesis"]["data"])
        if data == b"crash":
            sys.stdout.flush()
            os._exit(70)
        if data.startswith(b"allocate:"):
            HELD.append(bytearray(int(data.split(b":")[1]) * 1024 * 1024))
        numbers.append(record["kinesis"]["sequenceNumber"])
    HELD.clear()
    print("BATCH " + json.dumps(numbers), flush=True)
    return {}
"""


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


@dataclass
class Pipeline:
    """A one-shard stream mapped to a recording function, with an SQS or S3 on-failure destination."""

    endpoint: str
    name: str = field(default_factory=lambda: f"esm-{uuid.uuid4().hex[:10]}")
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    stream_arn: str = ""
    queue_url: str = ""
    bucket: str = ""
    destination_arn: str = ""
    mapping_uuid: str = ""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        # Made once: making a client takes longer than the pace at which a test puts records.
        if service not in self._clients:
            self._clients[service] = make_client(
                service, endpoint_url=self.endpoint, region="us-east-1", credentials=("test", "test")
            )
        return self._clients[service]

    def create_stream(self) -> None:
        kinesis = self.client("kinesis")
        kinesis.create_stream(StreamName=self.name, ShardCount=1)
        self.cleanups.append(
            lambda: kinesis.delete_stream(StreamName=self.name, EnforceConsumerDeletion=True)
        )
        kinesis.get_waiter("stream_exists").wait(StreamName=self.name, WaiterConfig={"Delay": 0.5})
        self.stream_arn = kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"][
            "StreamARN"
        ]

    def create_queue_destination(self) -> None:
        sqs = self.client("sqs")
        self.queue_url = sqs.create_queue(QueueName=f"{self.name}-failures")["QueueUrl"]
        self.cleanups.append(lambda: sqs.delete_queue(QueueUrl=self.queue_url))
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.destination_arn = attributes["Attributes"]["QueueArn"]

    def create_bucket_destination(self) -> None:
        s3 = self.client("s3")
        self.bucket = f"{self.name}-failures"
        s3.create_bucket(Bucket=self.bucket)

        def delete_bucket() -> None:
            for item in s3.list_objects_v2(Bucket=self.bucket).get("Contents", []):
                s3.delete_object(Bucket=self.bucket, Key=item["Key"])
            s3.delete_bucket(Bucket=self.bucket)

        self.cleanups.append(delete_bucket)
        self.destination_arn = f"arn:aws:s3:::{self.bucket}"

    def create_function(
        self, source: str = RECORDING_FUNCTION, memory_mb: int = 128, timeout: int = 10
    ) -> None:
        lambda_client = self.client("lambda")
        lambda_client.create_function(
            FunctionName=self.name,
            Runtime="python3.13",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": zip_of({"app.py": source})},
            Timeout=timeout,
            MemorySize=memory_mb,
        )
        self.cleanups.append(lambda: lambda_client.delete_function(FunctionName=self.name))
        lambda_client.get_waiter("function_active_v2").wait(
            FunctionName=self.name, WaiterConfig={"Delay": 0.5}
        )

    def put(self, payloads: list[bytes]) -> list[str]:
        """Put ``payloads`` in one call, in order, on the one shard; their sequence numbers."""
        response = self.client("kinesis").put_records(
            StreamName=self.name, Records=[{"Data": data, "PartitionKey": "one"} for data in payloads]
        )
        assert response["FailedRecordCount"] == 0, response
        return [entry["SequenceNumber"] for entry in response["Records"]]

    def put_one(self, data: bytes) -> str:
        return str(
            self.client("kinesis").put_record(StreamName=self.name, Data=data, PartitionKey="one")[
                "SequenceNumber"
            ]
        )

    def map(self, **settings: Any) -> None:
        """The mapping from the stream's start; ``settings`` are CreateEventSourceMapping's."""
        lambda_client = self.client("lambda")
        if self.destination_arn:
            settings.setdefault("DestinationConfig", {"OnFailure": {"Destination": self.destination_arn}})
        mapping = lambda_client.create_event_source_mapping(
            EventSourceArn=self.stream_arn,
            FunctionName=self.name,
            StartingPosition="TRIM_HORIZON",
            **settings,
        )
        self.mapping_uuid = mapping["UUID"]
        self.cleanups.append(lambda: lambda_client.delete_event_source_mapping(UUID=self.mapping_uuid))

    def mapping_state(self) -> str:
        return str(self.client("lambda").get_event_source_mapping(UUID=self.mapping_uuid)["State"])

    def batches(self) -> list[list[str]]:
        """The batches the function completed, in the order it logged them.

        A batch counts when its invocation ended well: its REPORT line has no ``Status: error``. An
        invocation the runtime ended (out of memory, killed) failed, as the mapping sees it, even when
        its BATCH line made it to the log: the embedded runtime finds an allocation that passed the
        memory size between two of its polls only when the invocation ends (its peak RSS), after
        the handler ran to its end (shardsafe_localstack.runtime.bootstrap.MemoryWatch).
        """
        messages = log_messages(self.client("logs"), f"/aws/lambda/{self.name}")
        batches: list[list[str]] = []
        pending: list[list[str]] = []  # the BATCH lines of the invocation whose REPORT is still to come
        for message in messages:
            if message.startswith("START RequestId:"):
                pending = []
            elif message.startswith(BATCH_LINE):
                pending.append(json.loads(message[len(BATCH_LINE) :]))
            elif message.startswith("REPORT RequestId:"):
                if "Status: error" not in message:
                    batches.extend(pending)
                pending = []
        return batches

    def failure_records(self) -> list[dict[str, Any]]:
        """The on-failure destination's messages so far (S3 objects are read, not removed)."""
        if self.bucket:
            s3 = self.client("s3")
            keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=self.bucket).get("Contents", []))
            return [json.load(s3.get_object(Bucket=self.bucket, Key=key)["Body"]) for key in keys]
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def destroy(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:  # leave the rest to LocalStack's restart; say what stayed
                print(f"cleanup of {self.name} failed: {error}")


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str, poll_s: float = 0.5) -> None:
    give_up = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"{what} not after {deadline_s} s")
        time.sleep(poll_s)


def pipeline_fixture(endpoint: str) -> Iterator[Pipeline]:
    pipeline = Pipeline(endpoint)
    try:
        yield pipeline
    finally:
        pipeline.destroy()


def batch_info(record: dict[str, Any]) -> dict[str, Any]:
    info = record["KinesisBatchInfo"]
    assert isinstance(info, dict)
    return info
