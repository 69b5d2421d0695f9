"""Shared fixtures. LocalStack-backed fixtures live here so every suite uses one running stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.factories import (  # noqa: F401 - factory fixtures for every suite, found by name
    context,
    dynamodb_event_fixture,
    kinesis_event_fixture,
    kinesis_record_fixture,
    log_lines,
    metrics,
    quarantine,
    sqs_event_fixture,
)

REPO = Path(__file__).resolve().parents[1]

# Property tests check behaviour, not speed: no per-example deadline on a shared 2-core machine.
settings.register_profile("shardsafe", deadline=None, print_blob=True)
settings.load_profile("shardsafe")


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """The LocalStack to test against: LOCALSTACK_ENDPOINT, or an embedded one started here."""
    from shardsafe_localstack import ctl

    with ctl.session() as localstack:
        yield localstack.endpoint


@pytest.fixture(scope="session")
def aws_client(localstack_endpoint: str) -> Any:
    """A factory: aws_client("sqs") is a boto3 client bound to LocalStack."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=localstack_endpoint)

    return make
