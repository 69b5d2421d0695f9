"""The fakes' fixtures (tests/unit/ops/fakes.py) for the redrive tests, and a moto S3."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.ops.fakes import BUCKET, fake_kinesis, fake_sqs, on_failure_body, quarantine_body

__all__ = ["fake_kinesis", "fake_sqs", "on_failure_body", "quarantine_body", "s3"]


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 client with the failure bucket (``BUCKET``) created."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        client.create_bucket(Bucket=BUCKET)
        yield client
