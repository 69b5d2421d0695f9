"""What every end-to-end test stands on: LocalStack, shardsafe's zip, and one deployed examples/complete.

- LocalStack is started one way, here (``localstack_endpoint``): LOCALSTACK_ENDPOINT's if set, else
  the embedded one, started if it is not running (by the first worker that asks) and stopped after
  the run (tests/e2e/shared_run.py).
- The deployed pipeline is one per run (``stack``, on the one worker of its group), fed once with good, poison and crashing
  records (``fed_pipeline``): deploying takes a minute or two on LocalStack (Terraform waits for the
  SQS queue and the stream to settle), so every test of the pipeline shares this stack and this load.
  With SHARDSAFE_KEEP_STACK=1 the stack and LocalStack are left running, and the next run reuses
  them (applying the example again, which changes only what changed).
- Tests that need resources of their own (a bare stream and queue, functions made with the Lambda
  API) get them from ``resources``, which names them uniquely and deletes them after the test.

`make test-e2e` runs the tests on several pytest-xdist workers against one LocalStack
(``--dist loadgroup``; see tests/e2e/shared_run.py and :func:`pytest_collection_modifyitems`):
the tests of one deployed stack stay together on one worker, in order, and the stacks that
Terraform applies start first.

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
from tests.e2e import shared_run
from tests.e2e.pipeline_support import FedPipeline
from tests.e2e.shared_run import RUN_DIR

SHARDS = 2
GOOD_AND_POISON = 400
POISON_FRACTION = 0.1  # 40 poison records: every kind at least five times
DEADLINE_S = 240
HERE = Path(__file__).resolve().parent
#: Where a kept stack's Terraform state lives between runs.
KEPT_STACK_DIR = paths.BUILD / "e2e" / "stack"

_DEPLOY_FAILURES: list[str] = []


@pytest.fixture(scope="session")
def localstack_endpoint(request: pytest.FixtureRequest) -> str:
    """The LocalStack to test against: LOCALSTACK_ENDPOINT's, or the embedded one, started by the first
    worker that asks and stopped after the run (tests/e2e/shared_run.py)."""
    if hasattr(request.config, "workerinput") and not request.config.getoption("loadgroup", False):
        pytest.fail(
            "end-to-end tests on xdist workers need --dist loadgroup: it keeps the tests of one deployed "
            "stack on one worker (`make test-e2e` passes it)"
        )
    return shared_run.localstack(request.config.stash[RUN_DIR])


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
def source_handler_zip(lambda_zip: Path, request: pytest.FixtureRequest) -> Path:
    """The Lambda zip plus tests/e2e/source_handler.py, the function of the source examples' e2e tests."""
    from shardsafe.ops.packaging import add_to_zip
    from tests.e2e import source_handler

    return shared_run.once(
        request.config.stash[RUN_DIR],
        "source-handler-zip",
        lambda: add_to_zip(
            lambda_zip,
            {"source_handler.py": Path(source_handler.__file__)},
            paths.BUILD / "e2e" / "lambda-source-handler.zip",
        ),
    )


@pytest.fixture(scope="session")
def lambda_zip(request: pytest.FixtureRequest) -> Path:
    """shardsafe's Lambda zip, built by shardsafe.ops.packaging as `make package` builds it (once per run)."""
    return shared_run.once(request.config.stash[RUN_DIR], "lambda-zip", package_zip)


@pytest.fixture(scope="session")
def demo_zip(lambda_zip: Path, request: pytest.FixtureRequest) -> Path:
    """The demo's function: the zip plus the handler that crashes on one record (demo.function)."""
    return shared_run.once(
        request.config.stash[RUN_DIR],
        "demo-zip",
        lambda: function.build_zip(lambda_zip, paths.BUILD / "e2e" / "lambda-demo.zip"),
    )


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


#: The xdist group of every test on the shared examples/complete stack (the ``deployment`` fixture).
SHARED_STACK_GROUP = "examples-complete"


def xdist_group(item: pytest.Item) -> str | None:
    """The group that keeps ``item`` on one worker with the tests it shares state with, if any.

    A test named into a group (``pytest.mark.xdist_group("name")``) is in it; a test on the shared
    stack is in SHARED_STACK_GROUP; a test using a module-scoped fixture is in its module's group (the
    fixture is then made once, on one worker). Any other test may run on any worker, beside any other.
    """
    if marker := item.get_closest_marker("xdist_group"):
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    if "deployment" in item.fixturenames:
        return SHARED_STACK_GROUP
    # pytest has no public API for a fixture's scope; _fixtureinfo is what xdist-aware plugins read too.
    definitions = getattr(item, "_fixtureinfo", None)
    for name in item.fixturenames:
        for fixture in getattr(definitions, "name2fixturedefs", {}).get(name, ()):
            if fixture.scope == "module":
                return item.nodeid.split("::", 1)[0]
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist appends the group to each node id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group, then order: Terraform first, the shared stack's destroy last.

    Each test gets its xdist group as a marker (:func:`xdist_group`). The groups and tests that apply
    Terraform (marked ``terraform``; the shared stack's always) come first, largest first, because
    each apply waits out the AWS provider's fixed propagation delays (about a minute) however fast
    LocalStack answers: started first, they overlap the rest. Destroying the shared stack is itself
    a test: it runs after every other test of its group (after every other test, on one process).
    """
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        if not item.path.is_relative_to(HERE):
            groups.setdefault(item.nodeid, []).append(item)
            continue
        group = xdist_group(item)
        if group == SHARED_STACK_GROUP:
            item.add_marker(pytest.mark.terraform)
        if group is not None and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))
        groups.setdefault(group if group is not None else item.nodeid, []).append(item)

    def applies_terraform(tests: list[pytest.Item]) -> bool:
        return any(test.get_closest_marker("terraform") for test in tests)

    ordered = sorted(groups.values(), key=lambda tests: (not applies_terraform(tests), -len(tests)))
    flat = [item for tests in ordered for item in tests]
    last = [item for item in flat if item.get_closest_marker("destroys_shared_stack")]
    items[:] = [item for item in flat if item not in last] + last
