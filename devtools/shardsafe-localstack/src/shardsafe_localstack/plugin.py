"""LocalStack plugin registration for the process runtime executor (``LAMBDA_RUNTIME_EXECUTOR=process``).

Loading the executor is also where the embedded LocalStack's additions are applied (in memory,
never to LocalStack's files): bisect on function error (bisect_on_error), the 6 MB payload limit on
a batch (payload_limit), the speed patches (speedups: batched logs and metrics, polling again after a
full batch), concurrent SQS batches up to the mapping's MaximumConcurrency (sqs_scaling), SQS bodies as sent
(sqs_body), tumbling windows on stream mappings (tumbling_window) and, when SHARDSAFE_LOCALSTACK_TRACE
names a file, the per-hop trace (trace). LocalStack
loads this plugin when its Lambda service starts, before any event source mapping polls.

The DynamoDB stream poller's record age (dynamodb) is fixed there too. The DynamoDB and DynamoDB Streams providers (``dynamodb``: moto, no DynamoDB Local download) are
service plugins of their own, chosen by PROVIDER_OVERRIDE_DYNAMODB/_DYNAMODBSTREAMS=shardsafe.
"""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.plugins import Service, aws_provider

from shardsafe_localstack.switches import DYNAMODB_PROVIDER


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "process"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from shardsafe_localstack import (
            bisect_on_error,
            dynamodb,
            payload_limit,
            speedups,
            sqs_body,
            sqs_scaling,
            trace,
            tumbling_window,
        )
        from shardsafe_localstack.executor import ProcessRuntimeExecutor

        # Order matters: the payload limit cuts a batch first, then each run is bisected on error.
        bisect_on_error.apply()
        payload_limit.apply()
        speedups.apply()
        sqs_scaling.apply()
        sqs_body.apply()
        trace.apply()
        dynamodb.apply()
        # Last: a batch is cut into its windows before the payload limit and bisect see each part.
        tumbling_window.apply()
        return ProcessRuntimeExecutor


@aws_provider(api="dynamodb", name=DYNAMODB_PROVIDER)  # type: ignore[untyped-decorator]  # LocalStack's
def dynamodb_provider() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    from shardsafe_localstack.dynamodb import DynamoDBProvider

    return Service.for_provider(DynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name=DYNAMODB_PROVIDER)  # type: ignore[untyped-decorator]
def dynamodbstreams_provider() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    from shardsafe_localstack.dynamodb import DynamoDBStreamsProvider

    return Service.for_provider(DynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher)
