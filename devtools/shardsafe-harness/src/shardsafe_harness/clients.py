"""AWS clients bound to a LocalStack: ``shardsafe.ops.aws.make_client`` with LocalStack's region and test
credentials, one client per service and endpoint (boto3 clients are costly to make)."""

from __future__ import annotations

import functools
from typing import Any

from shardsafe.ops.aws import make_client

__all__ = ["LOCALSTACK_CREDENTIALS", "LOCALSTACK_REGION", "localstack_client"]

LOCALSTACK_REGION = "us-east-1"
LOCALSTACK_CREDENTIALS = ("test", "test")  # LocalStack takes any


@functools.cache
def localstack_client(service: str, endpoint: str) -> Any:
    """A boto3 client for ``service`` on the LocalStack at ``endpoint``."""
    return make_client(
        service, endpoint_url=endpoint, region=LOCALSTACK_REGION, credentials=LOCALSTACK_CREDENTIALS
    )
