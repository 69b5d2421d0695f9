"""The embedded LocalStack's additions, each registered with LocalStack's ``on_infra_start`` hook.

LocalStack runs its runtime hooks (``localstack.runtime.hooks``) as it starts, before any service
loads; each function below is one such hook, declared in this package's entry points
(``localstack.hooks.on_infra_start`` in pyproject.toml) and applying one addition in memory (never
to LocalStack's files). Each addition keeps its switch (shardsafe_localstack.switches): the hook
reads it, and a value that is neither on nor off stops LocalStack at start, naming the fix.

The hooks apply only to the embedded LocalStack, the one started with the process executor
(``LAMBDA_RUNTIME_EXECUTOR=process``, as ``shardsafe-localstack up`` starts it): a LocalStack started
another way from the same environment stays stock. Higher priority runs first; LocalStack's own hooks
(priority 0) run before these. Order matters where two wrap one function: the payload limit wraps
bisect on error (a batch is cut first, then each run is bisected), so bisect is applied first.
"""

from __future__ import annotations

from collections.abc import Callable

from localstack.runtime import hooks

Hook = Callable[[], None]


def embedded() -> bool:
    """Whether this LocalStack runs Lambda functions with the process executor (the embedded one)."""
    from localstack import config

    return config.LAMBDA_RUNTIME_EXECUTOR == "process"


def on_infra_start(priority: int) -> Callable[[Hook], Hook]:
    """LocalStack's ``@hooks.on_infra_start(...)`` for the embedded LocalStack alone (typed: LocalStack's is not)."""
    register: Callable[[Hook], Hook] = hooks.on_infra_start(priority=priority, should_load=embedded)
    return register


@on_infra_start(priority=-10)
def shardsafe_bisect_on_error() -> None:
    """Bisect on function error (SHARDSAFE_LOCALSTACK_BISECT, read per batch)."""
    from shardsafe_localstack import bisect_on_error

    bisect_on_error.apply()


@on_infra_start(priority=-20)
def shardsafe_payload_limit() -> None:
    """The 6 MB batch payload limit (SHARDSAFE_LOCALSTACK_PAYLOAD_LIMIT, read per batch)."""
    from shardsafe_localstack import payload_limit

    payload_limit.apply()


@on_infra_start(priority=-30)
def shardsafe_speedups() -> None:
    """Batched logs and metrics, polling again after a full batch (one switch each)."""
    from shardsafe_localstack import speedups

    speedups.apply()


@on_infra_start(priority=-40)
def shardsafe_sqs_scaling() -> None:
    """Concurrent SQS batches up to the mapping's MaximumConcurrency (SHARDSAFE_LOCALSTACK_SQS_SCALING)."""
    from shardsafe_localstack import sqs_scaling

    sqs_scaling.apply()


@on_infra_start(priority=-50)
def shardsafe_sqs_body() -> None:
    """SQS bodies delivered as sent (SHARDSAFE_LOCALSTACK_SQS_BODY)."""
    from shardsafe_localstack import sqs_body

    sqs_body.apply()


@on_infra_start(priority=-60)
def shardsafe_trace() -> None:
    """The per-hop invocation trace, when SHARDSAFE_LOCALSTACK_TRACE names a file."""
    from shardsafe_localstack import trace

    trace.apply()


@on_infra_start(priority=-70)
def shardsafe_dynamodb() -> None:
    """The DynamoDB stream poller's record age and timestamps (SHARDSAFE_LOCALSTACK_DYNAMODB)."""
    from shardsafe_localstack import dynamodb

    dynamodb.apply()


@on_infra_start(priority=-80)
def shardsafe_tumbling_window() -> None:
    """Tumbling windows on stream mappings (SHARDSAFE_LOCALSTACK_TUMBLING_WINDOW). Last: it wraps the
    others, so a batch is cut into its windows before the payload limit and bisect see each part."""
    from shardsafe_localstack import tumbling_window

    tumbling_window.apply()


#: Every hook above, in the order LocalStack runs them.
HOOKS = (
    shardsafe_bisect_on_error,
    shardsafe_payload_limit,
    shardsafe_speedups,
    shardsafe_sqs_scaling,
    shardsafe_sqs_body,
    shardsafe_trace,
    shardsafe_dynamodb,
    shardsafe_tumbling_window,
)
