"""LocalStack plugin registration: the process runtime executor (``LAMBDA_RUNTIME_EXECUTOR=process``)
and the DynamoDB and DynamoDB Streams providers (``dynamodb``: moto, no DynamoDB Local download),
service plugins chosen by PROVIDER_OVERRIDE_DYNAMODB/_DYNAMODBSTREAMS=shardsafe.

The embedded LocalStack's additions to stock LocalStack (bisect on error, the payload limit, the
speed-ups, SQS scaling and bodies, the trace, the DynamoDB stream poller's fixes) are not applied
here: each is a LocalStack runtime hook of its own (hooks.py). The one exception is moto's DynamoDB
transactions without copying the tables (dynamodb_transactions), applied when the DynamoDB provider
below is made: it changes only the moto backend that provider serves.
"""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.plugins import Service, aws_provider

from shardsafe_localstack.switches import DYNAMODB_PROVIDER


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "process"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from shardsafe_localstack.executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor


@aws_provider(api="dynamodb", name=DYNAMODB_PROVIDER)  # type: ignore[untyped-decorator]  # LocalStack's
def dynamodb_provider() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    from shardsafe_localstack import dynamodb_transactions
    from shardsafe_localstack.dynamodb import DynamoDBProvider

    dynamodb_transactions.apply()  # transactions without copying the tables (its switch)
    return Service.for_provider(DynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name=DYNAMODB_PROVIDER)  # type: ignore[untyped-decorator]
def dynamodbstreams_provider() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    from shardsafe_localstack.dynamodb import DynamoDBStreamsProvider

    return Service.for_provider(DynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher)
