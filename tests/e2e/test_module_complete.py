"""examples/complete applied to LocalStack: what AWS reports back is the safe pipeline the module
promises (bisect, finite retries and record age, the module's S3 failure bucket as on-failure
destination, the quarantine queue and its dead-letter queue, claim checks, ReportBatchItemFailures,
the alias the mapping invokes, JSON logs, the idempotency table), and destroy removes all of it.
The role's policy, which LocalStack does not enforce, is evaluated against each call the pipeline
makes (tests/iam/simulator.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from shardsafe_harness.stack import Stack

RUNTIME = "python3.13"


@pytest.fixture(scope="module")
def deployed(stack: Stack) -> dict[str, Any]:
    """The outputs of the shared examples/complete stack (tests/e2e/conftest.py); the destroy check
    is tests/e2e/test_pipeline.py::test_destroy_leaves_nothing_behind."""
    return stack.outputs


@pytest.fixture(scope="module")
def settings(stack: Stack) -> dict[str, Any]:
    return stack.settings


def test_mapping_bisects_retries_finitely_and_reports_to_the_failure_bucket(
    deployed: dict[str, Any], settings: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    mapping = aws_client("lambda").get_event_source_mapping(UUID=deployed["event_source_mapping_uuid"])

    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == settings["maximum_retry_attempts"]
    assert mapping["MaximumRecordAgeInSeconds"] == settings["maximum_record_age_in_seconds"]
    assert deployed["failure_destination_kind"] == "s3"
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == deployed["failure_bucket_arn"]
    assert deployed["failure_destination_arn"] == deployed["failure_bucket_arn"]
    assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"]
    # The mapping invokes the alias of the published version, not $LATEST.
    assert mapping["FunctionArn"] == deployed["function_qualified_arn"]
    assert deployed["function_qualified_arn"] == f"{deployed['function_arn']}:live"
    # Enhanced fan-out: the mapping reads through the consumer registered on the stream.
    assert deployed["stream_consumer_arn"].startswith(deployed["stream_arn"] + "/consumer/")
    assert mapping["EventSourceArn"] == deployed["stream_consumer_arn"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["ParallelizationFactor"] == 2


def test_function_is_wired_to_the_queue_the_bucket_and_the_metrics_namespace(
    deployed: dict[str, Any], settings: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    function = aws_client("lambda").get_function_configuration(FunctionName=deployed["function_name"])

    assert function["Runtime"] == RUNTIME
    assert function["Handler"] == settings["handler"]
    assert function["TracingConfig"]["Mode"] == "Active"
    assert function["Role"] == deployed["role_arn"]
    assert function["Environment"]["Variables"] == {
        "SHARDSAFE_QUARANTINE_SINK": "sqs",
        "SHARDSAFE_QUARANTINE_QUEUE_URL": deployed["quarantine_queue_url"],
        "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES": "262144",  # the most AWS provider 5.x sets on a queue
        "SHARDSAFE_CLAIM_CHECK_BUCKET": deployed["failure_bucket_name"],
        "SHARDSAFE_CLAIM_CHECK_PREFIX": deployed["claim_check_prefix"],
        "SHARDSAFE_IDEMPOTENCY_TABLE": deployed["idempotency_table_name"],
        "SHARDSAFE_METRICS_NAMESPACE": "shardsafe",
        "SHARDSAFE_OUTPUT_BUCKET": deployed["output_bucket_name"],
        "SHARDSAFE_REPORT_BATCH_ITEM_FAILURES": "true",
    }


def test_role_policy_is_scoped_to_the_deployed_resources(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    role_name = deployed["role_arn"].rsplit("/", 1)[1]
    document = aws_client("iam").get_role_policy(RoleName=role_name, PolicyName="shardsafe-pipeline")[
        "PolicyDocument"
    ]
    if isinstance(document, str):
        document = json.loads(document)
    statements = {statement["Sid"]: statement for statement in document["Statement"]}

    def resources(sid: str) -> list[str]:
        value = statements[sid]["Resource"]
        return sorted([value] if isinstance(value, str) else value)

    assert resources("KinesisStreamRead") == [deployed["stream_arn"]]
    assert resources("KinesisConsumerRead") == [deployed["stream_consumer_arn"]]
    bucket = deployed["failure_bucket_arn"]
    assert resources("QuarantineQueueSend") == [deployed["failure_queue_arn"]]
    assert resources("FailureBucketList") == [bucket]
    assert resources("FailureBucketWrite") == [f"{bucket}/aws/lambda/*"]
    assert resources("ClaimCheckWrite") == [f"{bucket}/{deployed['claim_check_prefix']}*"]
    for sid in ("FailureBucketList", "FailureBucketWrite", "ClaimCheckWrite"):
        assert "s3:ResourceAccount" in statements[sid]["Condition"]["StringEquals"], sid
    assert resources("StreamKeyDecrypt") == [deployed["kms_key_arn"]]
    assert resources("QuarantineQueueKeyUse") == [deployed["kms_key_arn"]]
    assert resources("FailureBucketKeyUse") == [deployed["kms_key_arn"]]
    assert "FailureQueueSend" not in statements, "the queue is no on-failure destination with s3"
    assert resources("WriteOutput") == [f"arn:aws:s3:::{deployed['output_bucket_name']}/*"]
    table_arn = aws_client("dynamodb").describe_table(TableName=deployed["idempotency_table_name"])["Table"][
        "TableArn"
    ]
    assert resources("IdempotencyTableReadWrite") == [table_arn]
    assert resources("IdempotencyTableKeyUse") == [deployed["kms_key_arn"]]
    # Only X-Ray's writes take "*" among the module's statements (the example's own WriteOutput
    # names every object of its bucket, acknowledged).
    assert [sid for sid in statements if "*" in resources(sid)] == ["XRayWrite"]


def test_failure_bucket_is_encrypted_private_and_expires_objects(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    s3, bucket = aws_client("s3"), deployed["failure_bucket_name"]
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == deployed["kms_key_arn"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(
        statement["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(statement.get("Condition", {}))
        for statement in policy["Statement"]
    )
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert any(rule.get("Expiration", {}).get("Days") == 14 for rule in rules)


def test_quarantine_queue_is_encrypted_and_keeps_messages_14_days(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=deployed["failure_queue_url"], AttributeNames=["All"]
    )["Attributes"]

    assert attributes["QueueArn"] == deployed["failure_queue_arn"]
    assert attributes["KmsMasterKeyId"] == deployed["kms_key_arn"]
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["VisibilityTimeout"] == "180"


def test_log_group_alarms_and_dashboard_exist(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    groups = aws_client("logs").describe_log_groups(logGroupNamePrefix=deployed["log_group_name"])[
        "logGroups"
    ]
    group = next(g for g in groups if g["logGroupName"] == deployed["log_group_name"])
    assert group["retentionInDays"] == 14

    cloudwatch = aws_client("cloudwatch")
    alarms = cloudwatch.describe_alarms(
        AlarmNames=[arn.rsplit(":", 1)[1] for arn in deployed["alarm_arns"].values()]
    )
    by_metric = {alarm["MetricName"]: alarm for alarm in alarms["MetricAlarms"]}
    assert set(by_metric) == {
        "IteratorAge",
        "Errors",
        "Throttles",
        "Duration",
        "ApproximateNumberOfMessagesVisible",
        "RecordsQuarantined",
        "DroppedEventCount",
        "OnFailureDestinationDeliveredEventCount",
    }
    assert by_metric["RecordsQuarantined"]["Namespace"] == "shardsafe"
    assert by_metric["RecordsQuarantined"]["Statistic"] == "Sum"
    assert by_metric["IteratorAge"]["Threshold"] == 30000
    assert by_metric["Duration"]["Threshold"] == 24000  # 80 % of the 30 s timeout
    topic = deployed["alarm_topic_arn"]
    assert topic and aws_client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic
    for alarm in by_metric.values():  # every alarm notifies the topic, going off and coming back
        assert (alarm["AlarmActions"], alarm["OKActions"]) == ([topic], [topic]), alarm["AlarmName"]
    assert deployed["dashboard_name"] == f"{deployed['function_name']}-{deployed['region']}"

    dashboard = json.loads(
        cloudwatch.get_dashboard(DashboardName=deployed["dashboard_name"])["DashboardBody"]
    )
    assert any(widget["type"] == "alarm" for widget in dashboard["widgets"])


def test_function_runs_published_behind_its_alias_with_json_logs_and_more_tmp(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    lambda_ = aws_client("lambda")
    function = lambda_.get_function_configuration(FunctionName=deployed["function_name"])
    alias = lambda_.get_alias(FunctionName=deployed["function_name"], Name="live")

    assert function["LoggingConfig"]["LogFormat"] == "JSON"
    assert function["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert function["LoggingConfig"]["LogGroup"] == deployed["log_group_name"]
    assert function["EphemeralStorage"]["Size"] == 1024
    assert alias["AliasArn"] == deployed["function_qualified_arn"]
    assert alias["FunctionVersion"] == deployed["function_version"] != "$LATEST"


def test_quarantine_queue_hands_what_is_received_too_often_to_its_dead_letter_queue(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    sqs = aws_client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=deployed["failure_queue_url"], AttributeNames=["RedrivePolicy"]
    )
    dead_letter = sqs.get_queue_attributes(
        QueueUrl=deployed["quarantine_dead_letter_queue_url"],
        AttributeNames=["QueueArn", "MessageRetentionPeriod"],
    )["Attributes"]

    assert json.loads(attributes["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter["QueueArn"],
        "maxReceiveCount": 10,
    }
    assert dead_letter["MessageRetentionPeriod"] == "1209600"


def test_idempotency_table_has_the_powertools_layout(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    dynamodb = aws_client("dynamodb")
    table = dynamodb.describe_table(TableName=deployed["idempotency_table_name"])["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=deployed["idempotency_table_name"])[
        "TimeToLiveDescription"
    ]

    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}


def test_role_policy_allows_each_call_of_the_pipeline_and_nothing_near_it(
    deployed: dict[str, Any], aws_client: Callable[[str], Any]
) -> None:
    """LocalStack does not enforce IAM: the policy attached to the deployed role is evaluated instead,
    against the calls the handler and the mapping make here, with the context keys AWS sends."""
    from tests.iam.simulator import Decision, Request, evaluate

    role_name = deployed["role_arn"].rsplit("/", 1)[1]
    document = aws_client("iam").get_role_policy(RoleName=role_name, PolicyName="shardsafe-pipeline")[
        "PolicyDocument"
    ]
    policy = json.loads(document) if isinstance(document, str) else document
    region, account = deployed["region"], deployed["role_arn"].split(":")[4]
    key = deployed["kms_key_arn"]
    bucket = deployed["failure_bucket_arn"]
    prefix = deployed["claim_check_prefix"]
    table = aws_client("dynamodb").describe_table(TableName=deployed["idempotency_table_name"])["Table"][
        "TableArn"
    ]
    log_stream = (
        f"arn:aws:logs:{region}:{account}:log-group:{deployed['log_group_name']}:log-stream:2024/01/01/[7]abc"
    )
    own = {"s3:ResourceAccount": account}
    dead_letter_arn = aws_client("sqs").get_queue_attributes(
        QueueUrl=deployed["quarantine_dead_letter_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]

    def via(service: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{region}.amazonaws.com"}

    # Each call and the IAM action AWS authorizes it as (SendMessageBatch as sqs:SendMessage,
    # PutObject with SSE-KMS as kms:GenerateDataKey through S3, a KMS-encrypted queue's send as
    # kms:GenerateDataKey and kms:Decrypt through SQS, a record of an encrypted stream as kms:Decrypt
    # through Kinesis).
    needed = {
        # the mapping: read the stream through its consumer, write what it gives up on
        "mapping reads the stream": Request("kinesis:GetRecords", deployed["stream_arn"]),
        "mapping lists shards": Request("kinesis:ListShards", deployed["stream_arn"]),
        "mapping iterates": Request("kinesis:GetShardIterator", deployed["stream_arn"]),
        "mapping describes the stream": Request("kinesis:DescribeStreamSummary", deployed["stream_arn"]),
        "mapping subscribes through the consumer": Request(
            "kinesis:SubscribeToShard", deployed["stream_consumer_arn"]
        ),
        "mapping describes the consumer": Request(
            "kinesis:DescribeStreamConsumer", deployed["stream_consumer_arn"]
        ),
        "mapping decrypts records": Request("kms:Decrypt", key, via("kinesis")),
        "mapping writes a failed batch": Request(
            "s3:PutObject", f"{bucket}/aws/lambda/{deployed['event_source_mapping_uuid']}/shardId-000/x", own
        ),
        "mapping lists the failure bucket": Request("s3:ListBucket", bucket, own),
        "mapping encrypts the failed batch": Request("kms:GenerateDataKey", key, via("s3")),
        # the handler: quarantine, claim checks, idempotency, output, logs and traces
        "handler quarantines": Request("sqs:SendMessage", deployed["failure_queue_arn"]),
        "handler encrypts for the quarantine": Request("kms:GenerateDataKey", key, via("sqs")),
        "handler decrypts for the quarantine": Request("kms:Decrypt", key, via("sqs")),
        "handler writes a claim check": Request("s3:PutObject", f"{bucket}/{prefix}payloads/abc", own),
        "handler records an idempotency key": Request("dynamodb:PutItem", table),
        "handler reads idempotency keys": Request("dynamodb:BatchGetItem", table),
        "handler completes or releases keys": Request("dynamodb:BatchWriteItem", table),
        "handler uses the table's key": Request("kms:Decrypt", key, via("dynamodb")),
        "template writes its output": Request(
            "s3:PutObject", f"arn:aws:s3:::{deployed['output_bucket_name']}/processed/shardId-000/x.jsonl"
        ),
        "function logs": Request("logs:PutLogEvents", log_stream),
        "function opens a log stream": Request("logs:CreateLogStream", log_stream),
        "function traces": Request("xray:PutTraceSegments", "*"),
    }
    near_misses = {
        "another queue": Request("sqs:SendMessage", f"arn:aws:sqs:{region}:{account}:someone-elses"),
        "the quarantine's dead-letter queue": Request("sqs:SendMessage", dead_letter_arn),
        "reading the quarantine": Request("sqs:ReceiveMessage", deployed["failure_queue_arn"]),
        "an object outside the prefixes": Request("s3:PutObject", f"{bucket}/elsewhere/x", own),
        "the failure bucket of another account": Request(
            "s3:PutObject", f"{bucket}/{prefix}payloads/abc", {"s3:ResourceAccount": "444455556666"}
        ),
        "reading failed batches": Request("s3:GetObject", f"{bucket}/aws/lambda/x", own),
        "the key called directly": Request("kms:Decrypt", key),
        "the key through another service": Request("kms:Decrypt", key, via("secretsmanager")),
        "writing to the stream": Request("kinesis:PutRecord", deployed["stream_arn"]),
        "scanning the table": Request("dynamodb:Scan", table),
        "updating a key in place (Powertools' call, not shardsafe's)": Request("dynamodb:UpdateItem", table),
        "deleting a key alone": Request("dynamodb:DeleteItem", table),
        "the table's index": Request("dynamodb:Query", f"{table}/index/by-status"),
        "handing a role to a service": Request("iam:PassRole", deployed["role_arn"]),
    }

    refused = {name: evaluate(policy, request) for name, request in needed.items()}
    assert {name: decision for name, decision in refused.items() if decision is not Decision.ALLOW} == {}
    allowed = {name: evaluate(policy, request) for name, request in near_misses.items()}
    assert [name for name, decision in allowed.items() if decision is Decision.ALLOW] == []
