"""Shared fixtures (the event factories) and the e2e marker; LocalStack's fixtures are in tests/e2e/conftest.py."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from tests.e2e import shared_run
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

_RUN_DIR_INPUT = "shardsafe_run_dir"


def pytest_configure(config: pytest.Config) -> None:
    given = getattr(config, "workerinput", {}).get(_RUN_DIR_INPUT)
    config.stash[shared_run.RUN_DIR] = (
        Path(given) if given else Path(tempfile.mkdtemp(prefix="shardsafe-run-"))
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: each worker gets the controller's run folder."""
    node.workerinput[_RUN_DIR_INPUT] = str(node.config.stash[shared_run.RUN_DIR])  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every worker: stop the LocalStack the run started (tests/e2e/shared_run.py), remove the folder."""
    if hasattr(config, "workerinput"):
        return
    from shardsafe_harness.stack import keep_stack

    run_dir = config.stash[shared_run.RUN_DIR]
    try:
        shared_run.finish(run_dir, keep=keep_stack())
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e needs LocalStack: it is marked e2e by its folder (`-m "not e2e"` skips them)."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
