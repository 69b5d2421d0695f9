"""LocalStack plugin registration for the process runtime executor (``LAMBDA_RUNTIME_EXECUTOR=process``)."""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "process"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from shardsafe_localstack.executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor
