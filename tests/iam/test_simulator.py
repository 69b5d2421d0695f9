"""The IAM evaluator the end-to-end policy check relies on, against the rules and examples AWS documents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.iam.simulator import Decision, Request, UnsupportedPolicy, evaluate

ACCOUNT = "111122223333"
BUCKET = "arn:aws:s3:::orders-failures"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(actions: list[str], resources: list[str], **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


@pytest.mark.parametrize(
    ("pattern", "action", "decision"),
    [
        ("s3:GetObject", "s3:GetObject", Decision.ALLOW),
        ("s3:GetObject", "S3:getobject", Decision.ALLOW),  # action names are case-blind
        ("s3:Get*", "s3:GetObjectVersion", Decision.ALLOW),
        ("iam:PassRol?", "iam:PassRole", Decision.ALLOW),
        ("iam:PassRol?", "iam:PassRoles", Decision.IMPLICIT_DENY),
        ("s3:PutObject", "s3:PutObjectAcl", Decision.IMPLICIT_DENY),
        ("*", "kms:Decrypt", Decision.ALLOW),
    ],
)
def test_actions_match_case_blind_with_wildcards(pattern: str, action: str, decision: Decision) -> None:
    assert evaluate(policy(allow([pattern], ["*"])), Request(action, f"{BUCKET}/x")) is decision


@pytest.mark.parametrize(
    ("pattern", "resource", "decision"),
    [
        (f"{BUCKET}/claim-checks/*", f"{BUCKET}/claim-checks/payloads/a", Decision.ALLOW),
        (f"{BUCKET}/claim-checks/*", f"{BUCKET}/aws/lambda/x", Decision.IMPLICIT_DENY),
        (f"{BUCKET}/*", BUCKET, Decision.IMPLICIT_DENY),  # objects, not the bucket
        ("arn:aws:s3:::*", "arn:aws:s3:::someone-elses", Decision.ALLOW),
        ("arn:*:*:*:*:*", "arn:aws:sqs:eu-west-1:444455556666:q", Decision.ALLOW),
        (
            "arn:aws:sqs:eu-west-1:111122223333:orders-failures",
            "arn:aws:sqs:eu-west-1:111122223333:orders-failures-dlq",
            Decision.IMPLICIT_DENY,
        ),
        (
            "arn:aws:sqs:eu-west-1:111122223333:Orders",
            "arn:aws:sqs:eu-west-1:111122223333:orders",
            Decision.IMPLICIT_DENY,
        ),
        # a wildcard in the region segment stays in it; in the resource segment it takes ":" and "/"
        (
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/orders:*",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/orders:log-stream:2024/01/01/[1]abc",
            Decision.ALLOW,
        ),
        (
            "arn:aws:ec2:eu-west-1:111122223333:*/*",
            "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0123",
            Decision.ALLOW,
        ),
        (
            "arn:aws:ec2:eu-west-1:111122223333:*/*",
            "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0123",
            Decision.IMPLICIT_DENY,
        ),
        ("arn:aws:ec2:eu-*:111122223333:*/*", "arn:aws:ec2:eu-west-1:111122223333:subnet/x", Decision.ALLOW),
        ("*", "arn:aws:kinesis:eu-west-1:111122223333:stream/any", Decision.ALLOW),
    ],
)
def test_resources_match_segment_by_segment(pattern: str, resource: str, decision: Decision) -> None:
    assert evaluate(policy(allow(["s3:PutObject"], [pattern])), Request("s3:PutObject", resource)) is decision


def test_an_explicit_deny_overrides_any_allow() -> None:
    document = policy(
        allow(["s3:*"], ["*"]),
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{BUCKET}/*"},
    )

    assert evaluate(document, Request("s3:DeleteObject", f"{BUCKET}/a")) is Decision.EXPLICIT_DENY
    assert evaluate(document, Request("s3:GetObject", f"{BUCKET}/a")) is Decision.ALLOW


def test_nothing_matching_is_an_implicit_deny() -> None:
    assert evaluate(policy(), Request("s3:GetObject", f"{BUCKET}/a")) is Decision.IMPLICIT_DENY


KEY = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
VIA_SQS = {"StringEquals": {"kms:ViaService": ["sqs.eu-west-1.amazonaws.com"]}}


@pytest.mark.parametrize(
    ("context", "decision"),
    [
        ({"kms:ViaService": "sqs.eu-west-1.amazonaws.com"}, Decision.ALLOW),
        ({"kms:viaservice": "sqs.eu-west-1.amazonaws.com"}, Decision.ALLOW),  # key names are case-blind
        ({"kms:ViaService": "s3.eu-west-1.amazonaws.com"}, Decision.IMPLICIT_DENY),
        ({}, Decision.IMPLICIT_DENY),  # a direct KMS call carries no kms:ViaService: the condition fails
    ],
)
def test_string_equals_needs_the_key_with_one_of_the_values(
    context: dict[str, str], decision: Decision
) -> None:
    document = policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY, "Condition": VIA_SQS})

    assert evaluate(document, Request("kms:Decrypt", KEY, context)) is decision


def test_every_key_and_every_operator_must_hold() -> None:
    document = policy(
        allow(
            ["s3:PutObject"],
            [f"{BUCKET}/*"],
            StringEquals={"s3:ResourceAccount": [ACCOUNT]},
            Bool={"aws:SecureTransport": "true"},
        )
    )
    both = {"s3:ResourceAccount": ACCOUNT, "aws:SecureTransport": "true"}

    assert evaluate(document, Request("s3:PutObject", f"{BUCKET}/a", both)) is Decision.ALLOW
    assert (
        evaluate(
            document, Request("s3:PutObject", f"{BUCKET}/a", {**both, "s3:ResourceAccount": "444455556666"})
        )
        is Decision.IMPLICIT_DENY
    )
    assert (
        evaluate(document, Request("s3:PutObject", f"{BUCKET}/a", {"s3:ResourceAccount": ACCOUNT}))
        is Decision.IMPLICIT_DENY
    )


def test_negated_and_if_exists_operators_hold_without_the_key() -> None:
    not_equals = policy(
        allow(["sns:Publish"], ["*"], StringNotEquals={"aws:SourceAccount": ["444455556666"]})
    )
    if_exists = policy(allow(["sns:Publish"], ["*"], StringEqualsIfExists={"aws:SourceAccount": [ACCOUNT]}))
    topic = "arn:aws:sns:eu-west-1:111122223333:t"

    assert evaluate(not_equals, Request("sns:Publish", topic)) is Decision.ALLOW
    assert (
        evaluate(not_equals, Request("sns:Publish", topic, {"aws:SourceAccount": "444455556666"}))
        is Decision.IMPLICIT_DENY
    )
    assert evaluate(if_exists, Request("sns:Publish", topic)) is Decision.ALLOW
    assert (
        evaluate(if_exists, Request("sns:Publish", topic, {"aws:SourceAccount": "444455556666"}))
        is Decision.IMPLICIT_DENY
    )


def test_arn_like_and_string_like_take_wildcards() -> None:
    document = policy(
        allow(["sqs:SendMessage"], ["*"], ArnLike={"aws:SourceArn": "arn:aws:sns:*:111122223333:orders-*"}),
    )
    queue = "arn:aws:sqs:eu-west-1:111122223333:q"

    assert (
        evaluate(
            document,
            Request(
                "sqs:SendMessage",
                queue,
                {"aws:SourceArn": "arn:aws:sns:eu-west-1:111122223333:orders-quarantine"},
            ),
        )
        is Decision.ALLOW
    )
    assert (
        evaluate(
            document,
            Request(
                "sqs:SendMessage",
                queue,
                {"aws:SourceArn": "arn:aws:sns:eu-west-1:444455556666:orders-quarantine"},
            ),
        )
        is Decision.IMPLICIT_DENY
    )


def test_what_it_does_not_implement_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedPolicy, match="NotResource"):
        evaluate(
            policy({"Effect": "Allow", "Action": "s3:*", "NotResource": BUCKET}),
            Request("s3:GetObject", BUCKET),
        )
    with pytest.raises(UnsupportedPolicy, match="NumericLessThan"):
        evaluate(
            policy(allow(["s3:*"], ["*"], NumericLessThan={"s3:max-keys": "10"})),
            Request("s3:ListBucket", BUCKET),
        )
