"""Factory fixtures for the CLI tests: fake Kinesis and SQS, failure-queue message bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.cli.cli_fakes import FakeKinesis, FakeSqs, make_on_failure_body, make_quarantine_body


@pytest.fixture
def fake_kinesis() -> Callable[..., FakeKinesis]:
    """A factory: fake_kinesis(shards=2, retention_hours=48)."""
    return FakeKinesis


@pytest.fixture
def fake_sqs() -> Callable[[], FakeSqs]:
    return FakeSqs


@pytest.fixture
def on_failure_body() -> Callable[..., dict[str, Any]]:
    """A factory for Lambda on-failure message bodies (see make_on_failure_body)."""
    return make_on_failure_body


@pytest.fixture
def quarantine_body() -> Callable[..., str]:
    """A factory for quarantine envelope bodies (see make_quarantine_body)."""
    return make_quarantine_body
