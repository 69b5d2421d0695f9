"""examples/dynamodb-stream/README.md's commands, run as written, end with the put item processed.

The README's ``sh`` block is read from the README itself and run line by line in one bash, against the
embedded LocalStack, on a copy of the example (the module's files two folders up, as in the repository,
and the repository's build/ beside them, where ``make package`` writes the zip):

- ``make package`` runs at the repository's root, as the README says to run it from there;
- ``terraform init`` and ``terraform apply`` run as written (``apply`` is answered ``yes``), with the
  provider pointed at LocalStack by the generated, git-ignored ``localstack_override.tf``;
- the ``aws`` commands run as written, with ``AWS_ENDPOINT_URL`` naming LocalStack;
- the example's ``name`` comes from ``TF_VAR_name`` (unique per run): the commands read every name from
  ``terraform output``.

The last command (``aws s3 ls`` of the output bucket) is polled until it lists the processed change, and
that object must hold the item as the template writes it. Terraform destroys the copy's stack after.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness import paths
from shardsafe_harness.stack import copy_example
from shardsafe_harness.terraform import Terraform, provider_override, terraform_env

EXAMPLE = "dynamodb-stream"
README = paths.EXAMPLES / EXAMPLE / "README.md"
DEADLINE_S = 180.0


def readme_commands() -> list[str]:
    """The commands of the README's ``sh`` block, in order."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, f"{README} has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture
def readme_root(localstack_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder laid out like the repository for the example: examples/dynamodb-stream (a copy), the
    module's files, and build/ (the repository's, where `make package` writes)."""
    copy = copy_example(EXAMPLE, tmp_path)
    (tmp_path / "build").symlink_to(paths.BUILD, target_is_directory=True)
    paths.BUILD.mkdir(exist_ok=True)
    (copy / "localstack_override.tf").write_text(provider_override(localstack_endpoint))
    monkeypatch.setenv("TF_VAR_name", f"ss-{uuid.uuid4().hex[:8]}-table")
    yield tmp_path
    terraform = Terraform(copy, localstack_endpoint)
    if terraform.state_resources():
        terraform.destroy()


def run_commands(commands: list[str], root: Path, endpoint: str) -> Callable[[str], str]:
    """Run ``commands`` in one bash from ``root``; returns how to run one more there, for polling."""
    env = terraform_env()
    env.pop("TF_INPUT", None)  # `terraform apply` asks for its yes, as it asks a user
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        PATH=f"{paths.REPO / '.venv' / 'bin'}:{os.environ['PATH']}",  # the AWS CLI the dev group installs
    )
    script = ["set -euo pipefail"]
    for command in commands:
        if command.startswith("make "):
            script.append(f"(cd {paths.REPO} && {command} >&2)")  # from the repository's root
        elif command.strip() == "terraform apply":
            script.append(f"{command} -no-color <<< yes >&2")
        else:
            script.append(command)
    script.append("pwd")
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"README commands failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    where = Path(done.stdout.splitlines()[-1])

    def more(command: str) -> str:
        ran = subprocess.run(
            ["bash", "-c", command],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode in (0, 1), ran.stderr[-3000:]  # `aws s3 ls` of an empty prefix exits 1
        return ran.stdout

    return more


def test_the_readme_commands_end_with_the_item_processed(
    readme_root: Path, localstack_endpoint: str, aws_client: Callable[[str], Any]
) -> None:
    commands = readme_commands()
    assert commands[0] == "make package" and commands[1] == "cd examples/dynamodb-stream"
    assert commands[-1].startswith("aws s3 ls")
    more = run_commands(commands[:-1], readme_root, localstack_endpoint)

    give_up = time.monotonic() + DEADLINE_S
    listed: list[str] = []
    while not listed and time.monotonic() < give_up:
        listed = re.findall(r"processed/\S+\.json", more(commands[-1]))
        if not listed:
            time.sleep(1.0)
    assert len(listed) == 1, f"the last command listed {listed}, not the one processed change"

    outputs = {
        name: more(f"terraform output -raw {name}").strip() for name in ("table_name", "output_bucket_name")
    }
    table = outputs["table_name"]
    assert listed[0].startswith(f"processed/{table}/")
    body = aws_client("s3").get_object(Bucket=outputs["output_bucket_name"], Key=listed[0])["Body"].read()
    document = json.loads(body)
    assert document["table"] == table and document["eventName"] == "INSERT"
    assert document["item"] == {"pk": "order-1", "amount": 12.5}
    assert document["keys"] == {"pk": "order-1"}
    assert listed[0] == f"processed/{table}/{document['sequenceNumber']}.json"
