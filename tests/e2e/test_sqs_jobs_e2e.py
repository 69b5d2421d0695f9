"""examples/sqs-jobs as its README says: the README's commands, run as written in a copy of the folder
on the embedded LocalStack, end with every task run once.

The commands are read from the README's first ``sh`` block and each is run for what it is: ``shardsafe
...`` through the CLI, ``terraform init && terraform apply`` through the harness (the provider pointed
at LocalStack, with the test's variables: a fresh name, ``timeout = 5`` so that the crashed tasks come
back after 30 s, buckets that destroy empties), ``export`` into the environment, and ``python -m ...``
as a process with each ``"$(terraform output -raw NAME)"`` replaced by that output. A README line this
test does not know fails it. The report is run until it exits 0 (done) or 1 (a task ran twice); then
each task's ledger entries are read back: one per valid task, none for the invalid one, which is in the
quarantine queue with its payload.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness import paths
from shardsafe_harness.stack import copy_example
from shardsafe_harness.terraform import Terraform

from shardsafe import parse_envelope
from shardsafe.ops.cli import main as shardsafe

pytestmark = pytest.mark.terraform  # its stack is applied with Terraform: scheduled first

EXAMPLE = "sqs-jobs"
DEADLINE_S = 300
OUTPUT = re.compile(r'"\$\(terraform output -raw ([a-z_]+)\)"')


def readme_commands() -> list[str]:
    text = (paths.EXAMPLES / EXAMPLE / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_commands_are_the_ones_this_test_knows() -> None:
    for command in readme_commands():
        assert command.startswith(("shardsafe ", "export ", "python -m jobs.")) or command == (
            "terraform init && terraform apply"
        ), f"a README command this test does not run: {command}"


class Folder:
    """The README's commands, run in a copy of the example (the module two folders up)."""

    def __init__(self, endpoint: str, workdir: Path, variables: dict[str, object]) -> None:
        self.endpoint = endpoint
        self.copy = copy_example(EXAMPLE, workdir)
        self.variables = variables
        self.environment: dict[str, str] = {}
        self.terraform: Terraform | None = None
        self.outputs: dict[str, Any] = {}
        self.runs: list[subprocess.CompletedProcess[str]] = []

    def run(self, command: str) -> subprocess.CompletedProcess[str] | None:
        if command.startswith("shardsafe "):
            cwd = os.getcwd()
            os.chdir(self.copy)
            try:
                assert shardsafe(shlex.split(command)[1:]) == 0, command
            finally:
                os.chdir(cwd)
            return None
        if command == "terraform init && terraform apply":
            self.terraform = Terraform(self.copy, self.endpoint, self.variables)
            self.terraform.init()
            self.outputs = self.terraform.apply()
            return None
        if command.startswith("export "):
            name, _, value = command.removeprefix("export ").partition("=")
            self.environment[name] = value
            return None
        words = shlex.split(OUTPUT.sub(lambda found: shlex.quote(str(self.outputs[found.group(1)])), command))
        assert words[0] == "python", command
        environment = {
            **os.environ,
            **self.environment,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        done = subprocess.run(
            [sys.executable, *words[1:]],
            cwd=self.copy,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.runs.append(done)
        return done

    def destroy(self) -> None:
        if self.terraform is not None and self.terraform.state_resources():
            self.terraform.destroy()


@pytest.fixture
def folder(localstack_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Folder]:
    if paths.UV.is_file():
        monkeypatch.setenv("UV", str(paths.UV))
    variables: dict[str, object] = {
        "name": f"jobs-{uuid.uuid4().hex[:8]}",
        "timeout": 5,
        "force_destroy": True,
    }
    made = Folder(localstack_endpoint, tmp_path, variables)
    try:
        yield made
    finally:
        made.destroy()


def test_every_task_runs_once_the_crashed_and_the_duplicated_included_and_the_invalid_is_quarantined(
    folder: Folder, aws_client: Any
) -> None:
    *setup, report = readme_commands()
    for command in setup:
        done = folder.run(command)
        assert done is None or done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    give_up = time.monotonic() + DEADLINE_S
    while True:
        done = folder.run(report)
        assert done is not None
        if done.returncode != 2 or time.monotonic() > give_up:
            break
        time.sleep(2.0)
    assert done.returncode == 0, f"the report says:\n{done.stdout}\n{done.stderr}"
    assert (
        "49 tasks, 49 ran once, 0 ran more than once, 0 not run yet; 1 of 1 poison tasks quarantined"
        in done.stdout
    )
    assert "payroll-0048: killed the worker once, then ran 1 time(s)" in done.stdout

    # The same, read back without the example's code: one ledger entry per valid task.
    s3, sqs = aws_client("s3"), aws_client("sqs")
    bucket = folder.outputs["jobs_bucket_name"]
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="ledger/payroll/")
        for item in page.get("Contents", [])
    ]
    runs: dict[str, int] = {}
    for key in keys:
        runs[key.split("/")[2]] = runs.get(key.split("/")[2], 0) + 1
    assert runs == {f"payroll-{n:04d}": 1 for n in range(49)}
    crash_markers = s3.list_objects_v2(Bucket=bucket, Prefix="crash-markers/").get("Contents", [])
    assert [item["Key"] for item in crash_markers] == ["crash-markers/payroll-0048"], (
        "the worker must have died once"
    )

    messages = sqs.receive_message(
        QueueUrl=folder.outputs["quarantine_queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    envelopes = [parse_envelope(message["Body"]) for message in messages]
    payloads = [json.loads(envelope.payload_bytes()) for envelope in envelopes if envelope is not None]
    assert [payload["task_id"] for payload in payloads] == ["payroll-0049"]
    assert payloads[0]["amount"] == "not a number"
