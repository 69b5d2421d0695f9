"""The process runtime executor, through LocalStack's Lambda API: what a function sees and how it fails."""

from __future__ import annotations

import base64
import json
import textwrap
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from shardsafe_harness.logs import wait_for_message
from shardsafe_harness.resources import Resources

from shardsafe.ops.packaging import reproducible_zip

Deploy = Callable[..., str]


def zip_of(files: dict[str, str]) -> bytes:
    return reproducible_zip({name: textwrap.dedent(source).encode() for name, source in files.items()})


@pytest.fixture(scope="module")
def lambda_client(aws_client: Callable[[str], Any]) -> Any:
    return aws_client("lambda")


@pytest.fixture
def deploy(resources: Resources) -> Deploy:
    """A factory: deploy(files, runtime=..., timeout=...) creates a function and waits until it is Active
    (the ``resources`` fixture deletes it after the test)."""

    def make(
        files: dict[str, str],
        handler: str = "app.handler",
        runtime: str = "python3.13",
        timeout: int = 5,
        layers: list[str] | None = None,
    ) -> str:
        return resources.function(
            resources.name("exec"),
            zip_of(files),
            handler=handler,
            runtime=runtime,
            timeout=timeout,
            layers=layers,
        )

    return make


def invoke(lambda_client: Any, name: str, payload: object = None) -> tuple[str | None, Any, str]:
    response = lambda_client.invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail"
    )
    body = json.loads(response["Payload"].read() or b"null")
    logs = base64.b64decode(response.get("LogResult", "")).decode()
    return response.get("FunctionError"), body, logs


def test_a_function_that_returns_answers_with_its_result_and_sees_a_real_context(
    deploy: Deploy, lambda_client: Any
) -> None:
    name = deploy(
        {
            "app.py": """
            import os, time
            def handler(event, context):
                first = context.get_remaining_time_in_millis()
                time.sleep(0.2)
                return {
                    "event": event,
                    "request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "arn": context.invoked_function_arn,
                    "remaining": [first, context.get_remaining_time_in_millis()],
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                }
            """
        },
        timeout=7,
    )
    error, body, _ = invoke(lambda_client, name, {"n": 1})

    assert error is None
    assert body["event"] == {"n": 1}
    assert body["function_name"] == name
    assert body["arn"].endswith(f":function:{name}")
    uuid.UUID(body["request_id"])
    first, later = body["remaining"]
    assert 6000 < first <= 7000, "remaining time starts from the configured timeout"
    assert later <= first - 150, "remaining time counts down"
    assert body["trace"].startswith("Root=1-")


def test_print_output_reaches_cloudwatch_logs(deploy: Deploy, lambda_client: Any, aws_client: Any) -> None:
    marker = uuid.uuid4().hex
    name = deploy({"app.py": f"def handler(event, context):\n    print('hello {marker}')\n    return 1\n"})
    error, _, tail = invoke(lambda_client, name)
    assert error is None
    assert f"hello {marker}" in tail

    messages = wait_for_message(aws_client("logs"), f"/aws/lambda/{name}", marker, deadline_s=15)
    assert any(f"hello {marker}" in m for m in messages), messages
    assert any(m.startswith("START RequestId:") for m in messages)
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_an_exception_is_answered_in_the_aws_error_shape(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy(
        {
            "app.py": """
            class PoisonRecord(Exception):
                pass
            def handler(event, context):
                raise PoisonRecord("cannot handle record 7")
            """
        }
    )
    error, body, tail = invoke(lambda_client, name)

    assert error == "Unhandled"
    assert body["errorType"] == "PoisonRecord"
    assert body["errorMessage"] == "cannot handle record 7"
    assert any("raise PoisonRecord" in frame for frame in body["stackTrace"])
    assert "[ERROR] PoisonRecord: cannot handle record 7" in tail


def test_a_timeout_ends_the_invocation_and_the_next_one_gets_a_fresh_runtime(
    deploy: Deploy, lambda_client: Any
) -> None:
    name = deploy(
        {
            "app.py": """
            import os, time
            def handler(event, context):
                if event.get("sleep"):
                    time.sleep(30)
                return os.getpid()
            """
        },
        timeout=1,
    )
    _, first_pid, _ = invoke(lambda_client, name)
    started = time.monotonic()
    error, body, tail = invoke(lambda_client, name, {"sleep": True})
    elapsed = time.monotonic() - started

    assert error == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in tail
    assert elapsed < 10, "the invocation ends at the timeout, not when the handler finishes"
    error, second_pid, _ = invoke(lambda_client, name)
    assert error is None
    assert second_pid != first_pid, "after a timeout the environment is reset, as on AWS"


def test_consecutive_invocations_reuse_the_warm_environment(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy(
        {
            "app.py": """
            import os
            CALLS = 0
            def handler(event, context):
                global CALLS
                CALLS += 1
                return [os.getpid(), CALLS]
            """
        }
    )
    results = [invoke(lambda_client, name)[1] for _ in range(3)]
    assert len({pid for pid, _ in results}) == 1
    assert [calls for _, calls in results] == [1, 2, 3]


def test_a_process_exit_is_a_runtime_exit_error(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy({"app.py": "import os\ndef handler(event, context):\n    os._exit(3)\n"})
    error, body, _ = invoke(lambda_client, name)
    assert error == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]


def test_an_import_failure_is_a_runtime_import_module_error(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy(
        {"app.py": "raise RuntimeError('broken at import')\ndef handler(event, context):\n    return 1\n"}
    )
    error, body, _ = invoke(lambda_client, name)
    assert error == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'app': broken at import" in body["errorMessage"]


def test_a_dependency_missing_from_the_zip_fails_as_on_aws(deploy: Deploy, lambda_client: Any) -> None:
    # localstack's own environment has yaml and requests; the function must not see them.
    name = deploy({"app.py": "import yaml\ndef handler(event, context):\n    return 1\n"})
    error, body, _ = invoke(lambda_client, name)
    assert error == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == "Unable to import module 'app': No module named 'yaml'"


def test_the_runtime_provides_boto3(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy({"app.py": "import boto3\ndef handler(event, context):\n    return boto3.__file__\n"})
    error, boto3_file, _ = invoke(lambda_client, name)
    assert error is None
    assert "shardsafe-runtime-sdk" in boto3_file


def test_a_boto3_in_the_zip_comes_before_the_runtimes(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy(
        {
            "app.py": "import boto3\ndef handler(event, context):\n    return boto3.VENDORED\n",
            "boto3/__init__.py": "VENDORED = 'from the zip'\n",
        }
    )
    error, body, _ = invoke(lambda_client, name)
    assert error is None
    assert body == "from the zip"


def test_a_layers_python_folder_is_importable(deploy: Deploy, lambda_client: Any) -> None:
    layer = lambda_client.publish_layer_version(
        LayerName=f"lib-{uuid.uuid4().hex[:8]}",
        Content={"ZipFile": zip_of({"python/shared_lib.py": "ANSWER = 42\n"})},
        CompatibleRuntimes=["python3.13"],
    )
    try:
        name = deploy(
            {"app.py": "import shared_lib\ndef handler(event, context):\n    return shared_lib.ANSWER\n"},
            layers=[layer["LayerVersionArn"]],
        )
        error, body, _ = invoke(lambda_client, name)
        assert error is None
        assert body == 42
    finally:
        lambda_client.delete_layer_version(
            LayerName=layer["LayerArn"].rsplit(":", 1)[1], VersionNumber=layer["Version"]
        )


def test_python312_runs_on_a_312_interpreter(deploy: Deploy, lambda_client: Any) -> None:
    name = deploy(
        {"app.py": "import sys\ndef handler(event, context):\n    return list(sys.version_info[:2])\n"},
        runtime="python3.12",
    )
    error, body, _ = invoke(lambda_client, name)
    assert error is None
    assert body == [3, 12]


def test_a_runtime_other_than_python_gets_a_clear_error_not_a_hang(
    deploy: Deploy, lambda_client: Any
) -> None:
    name = deploy(
        {"index.js": "exports.handler = async () => 1;\n"}, handler="index.handler", runtime="nodejs20.x"
    )
    started = time.monotonic()
    error, body, _ = invoke(lambda_client, name)
    assert time.monotonic() - started < 10
    assert error == "Unhandled"
    assert body["errorType"] == "Runtime.InvalidRuntime"
    assert "'nodejs20.x' is not supported by the process executor" in body["errorMessage"]
