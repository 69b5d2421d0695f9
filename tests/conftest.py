"""Shared fixtures (the event factories) and the e2e marker; LocalStack's fixtures are in tests/e2e/conftest.py."""

from __future__ import annotations

from pathlib import Path

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

# Property tests check behaviour, not speed: no per-example deadline on a shared 2-core machine.
settings.register_profile("shardsafe", deadline=None, print_blob=True)
settings.load_profile("shardsafe")

E2E = Path(__file__).resolve().parent / "e2e"


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e needs LocalStack: it is marked e2e by its folder (`-m "not e2e"` skips them)."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
