"""One deployed examples/complete per test session, fed once with good, poison and crashing records.

Deploying takes a minute or two on LocalStack (Terraform waits for the SQS queue and the stream to
settle), so every end-to-end test of the pipeline shares this stack and this load.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from shardsafe_localstack.pipeline import (
    Deployment,
    Stack,
    crash_record,
    manifest_records,
    wait_until_accounted,
)

from shardsafe.cli.generate import generate_records
from shardsafe.cli.produce import produce
from tests.e2e.pipeline_support import FedPipeline

SHARDS = 2
GOOD_AND_POISON = 400
POISON_FRACTION = 0.1  # 40 poison records: every kind at least five times
DEADLINE_S = 240


_DEPLOY_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def deployment(localstack_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # pytest would run a failed session fixture again for every test that uses it: fail once.
    if _DEPLOY_FAILURES:
        pytest.fail(f"examples/complete did not deploy (see the first error): {_DEPLOY_FAILURES[0]}")
    deployment = Deployment(localstack_endpoint, tmp_path_factory.mktemp("complete"), shard_count=SHARDS)
    try:
        deployment.deploy()
    except Exception as error:
        _DEPLOY_FAILURES.append(str(error).splitlines()[0])
        deployment.destroy()
        raise
    try:
        yield deployment
    finally:
        deployment.destroy()


@pytest.fixture(scope="session")
def stack(deployment: Deployment) -> Stack:
    assert deployment.stack is not None
    return deployment.stack


@pytest.fixture(scope="session")
def fed_pipeline(stack: Stack) -> FedPipeline:
    offered = list(generate_records(GOOD_AND_POISON, poison=POISON_FRACTION, keys=8, seed=11))
    offered.insert(GOOD_AND_POISON // 2, crash_record())
    result = produce(stack.client("kinesis"), stack.stream_name, offered)
    assert result.failed == 0, result.summary()
    manifest = manifest_records(result.records)
    reconciliation, _ = wait_until_accounted(stack, manifest, DEADLINE_S)
    return FedPipeline(stack, offered, result, manifest, reconciliation)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Destroying the shared stack is itself a test: it runs after every other end-to-end test."""
    last = [item for item in items if item.get_closest_marker("destroys_shared_stack")]
    items[:] = [item for item in items if item not in last] + last
