"""The toolchain end to end: Terraform applies a stream, a function and a mapping to LocalStack, a record
put on the stream reaches the function, and destroy removes it all."""

from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shardsafe_localstack.cloudwatch_logs import wait_for_message
from shardsafe_localstack.terraform import Terraform

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).parent / "terraform" / "smoke"
HANDLER = """
import base64
def handler(event, context):
    for record in event["Records"]:
        print("saw", base64.b64decode(record["kinesis"]["data"]).decode())
    return {"batchItemFailures": []}
"""


def test_a_record_put_on_the_stream_reaches_the_function(
    tmp_path: Path, localstack_endpoint: str, aws_client: Callable[[str], Any]
) -> None:
    workdir = tmp_path / "smoke"
    shutil.copytree(CONFIG, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    zip_path = tmp_path / "app.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("app.py", HANDLER)
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    terraform = Terraform(workdir, localstack_endpoint, {"name": name, "zip_path": str(zip_path)})
    terraform.init()
    try:
        outputs = terraform.apply()
        marker = uuid.uuid4().hex
        aws_client("kinesis").put_record(
            StreamName=outputs["stream_name"], Data=json.dumps({"marker": marker}).encode(), PartitionKey="k"
        )
        messages = wait_for_message(aws_client("logs"), f"/aws/lambda/{outputs['function_name']}", marker)
        assert any(f'saw {{"marker": "{marker}"}}' in m for m in messages), messages
    finally:
        terraform.destroy()

    assert terraform.state_resources() == []
    assert name not in aws_client("kinesis").list_streams()["StreamNames"]
    functions = aws_client("lambda").list_functions()["Functions"]
    assert name not in [f["FunctionName"] for f in functions]
