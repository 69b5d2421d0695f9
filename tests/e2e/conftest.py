"""What every end-to-end test stands on: LocalStack, shardsafe's zip, and one deployed examples/complete.

- LocalStack is started one way, here (``localstack_endpoint``): LOCALSTACK_ENDPOINT's if set, else
  the embedded one, started if it is not running and stopped after the session.
- The deployed pipeline is one per session (``stack``), fed once with good, poison and crashing
  records (``fed_pipeline``): deploying takes a minute or two on LocalStack (Terraform waits for the
  SQS queue and the stream to settle), so every test of the pipeline shares this stack and this load.
  With SHARDSAFE_KEEP_STACK=1 the stack and LocalStack are left running, and the next run reuses
  them (applying the example again, which changes only what changed).
- Tests that need resources of their own (a bare stream and queue, functions made with the Lambda
  API) get them from ``resources``, which deletes them after the test.

Every test in this folder is marked e2e by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness import paths
from shardsafe_harness.accounting import manifest_records
from shardsafe_harness.clients import localstack_client
from shardsafe_harness.resources import Resources
from shardsafe_harness.stack import Deployment, Stack, keep_stack, wait_until_accounted
from shardsafe_harness.zips import package_zip

from demo import function
from shardsafe.ops.produce import generate_records, produce
from tests.e2e.pipeline_support import FedPipeline

SHARDS = 2
GOOD_AND_POISON = 400
POISON_FRACTION = 0.1  # 40 poison records: every kind at least five times
DEADLINE_S = 240
#: Where a kept stack's Terraform state lives between runs.
KEPT_STACK_DIR = paths.BUILD / "e2e" / "stack"

_DEPLOY_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """The LocalStack to test against: LOCALSTACK_ENDPOINT's, or the embedded one (started here if need be)."""
    from shardsafe_localstack import ctl

    with ctl.session(keep=keep_stack()) as localstack:
        yield localstack.endpoint


@pytest.fixture(scope="session")
def aws_client(localstack_endpoint: str) -> Callable[[str], Any]:
    """A factory: aws_client("sqs") is a boto3 client bound to LocalStack."""

    def make(service: str) -> Any:
        return localstack_client(service, localstack_endpoint)

    return make


@pytest.fixture
def resources(localstack_endpoint: str) -> Iterator[Resources]:
    """Streams, queues and functions made for one test, deleted after it."""
    with Resources(localstack_endpoint, prefix="e2e") as made:
        yield made


@pytest.fixture(scope="session")
def source_handler_zip(lambda_zip: Path) -> Path:
    """The Lambda zip plus tests/e2e/source_handler.py, the function of the source examples' e2e tests."""
    from shardsafe.ops.packaging import add_to_zip
    from tests.e2e import source_handler

    return add_to_zip(
        lambda_zip,
        {"source_handler.py": Path(source_handler.__file__)},
        paths.BUILD / "e2e" / "lambda-source-handler.zip",
    )


@pytest.fixture(scope="session")
def lambda_zip() -> Path:
    """shardsafe's Lambda zip, built by shardsafe.ops.packaging as `make package` builds it."""
    return package_zip()


@pytest.fixture(scope="session")
def demo_zip(lambda_zip: Path) -> Path:
    """The demo's function: the zip plus the handler that crashes on one record (demo.function)."""
    return function.build_zip(lambda_zip, paths.BUILD / "e2e" / "lambda-demo.zip")


@pytest.fixture(scope="session")
def deployment(
    localstack_endpoint: str, demo_zip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    # pytest would run a failed session fixture again for every test that uses it: fail once.
    if _DEPLOY_FAILURES:
        pytest.fail(f"examples/complete did not deploy (see the first error): {_DEPLOY_FAILURES[0]}")
    keep = keep_stack()
    if keep:
        deployment = Deployment.resume(
            localstack_endpoint, KEPT_STACK_DIR, demo_zip, handler=function.HANDLER, shard_count=SHARDS
        )
    else:
        deployment = Deployment(
            localstack_endpoint,
            tmp_path_factory.mktemp("complete"),
            demo_zip,
            handler=function.HANDLER,
            shard_count=SHARDS,
        )
    try:
        deployment.deploy()
    except Exception as error:
        _DEPLOY_FAILURES.append(str(error).splitlines()[0])
        deployment.destroy()
        raise
    try:
        yield deployment
    finally:
        if not keep:
            deployment.destroy()


@pytest.fixture(scope="session")
def stack(deployment: Deployment) -> Stack:
    assert deployment.stack is not None
    return deployment.stack


@pytest.fixture(scope="session")
def fed_pipeline(deployment: Deployment, stack: Stack) -> FedPipeline:
    if deployment.reused:
        stack.reset()  # what the last run left in the queue and the bucket is not this load's
    offered = list(generate_records(GOOD_AND_POISON, poison=POISON_FRACTION, keys=8, seed=11))
    offered.insert(GOOD_AND_POISON // 2, function.crash_record())
    result = produce(stack.client("kinesis"), stack.stream_name, offered)
    assert result.failed == 0, result.summary()
    manifest = manifest_records(result.records)
    reconciliation, _ = wait_until_accounted(stack, manifest, DEADLINE_S)
    return FedPipeline(stack, offered, result, manifest, reconciliation)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Destroying the shared stack is itself a test: it runs after every other end-to-end test."""
    last = [item for item in items if item.get_closest_marker("destroys_shared_stack")]
    items[:] = [item for item in items if item not in last] + last
