"""examples/complete applied to LocalStack: what AWS reports back is the safe pipeline the module
promises (bisect, finite retries and record age, the module's S3 failure bucket as on-failure
destination, the quarantine queue, claim checks, ReportBatchItemFailures), and destroy removes all of it."""

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
    assert mapping["FunctionArn"] == deployed["function_arn"]
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
        "SHARDSAFE_QUARANTINE_QUEUE_URL": deployed["quarantine_queue_url"],
        "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES": "262144",  # the most AWS provider 5.x sets on a queue
        "SHARDSAFE_CLAIM_CHECK_BUCKET": deployed["failure_bucket_name"],
        "SHARDSAFE_CLAIM_CHECK_PREFIX": deployed["claim_check_prefix"],
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
        "ApproximateNumberOfMessagesVisible",
        "RecordsQuarantined",
        "DroppedEventCount",
        "OnFailureDestinationDeliveredEventCount",
    }
    assert by_metric["RecordsQuarantined"]["Namespace"] == "shardsafe"
    assert by_metric["RecordsQuarantined"]["Statistic"] == "Sum"
    assert by_metric["IteratorAge"]["Threshold"] == 30000

    dashboard = json.loads(
        cloudwatch.get_dashboard(DashboardName=deployed["dashboard_name"])["DashboardBody"]
    )
    assert any(widget["type"] == "alarm" for widget in dashboard["widgets"])
