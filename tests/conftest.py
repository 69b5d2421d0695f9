"""Shared fixtures. LocalStack-backed fixtures live here so every suite uses one running stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """The LocalStack to test against: LOCALSTACK_ENDPOINT, or an embedded one started here."""
    from shardsafe_localstack import ctl

    if endpoint := os.environ.get("LOCALSTACK_ENDPOINT"):
        yield endpoint.rstrip("/")
        return
    paths = ctl.Paths(REPO / ".localstack")
    port = int(os.environ.get("LOCALSTACK_PORT", ctl.DEFAULT_PORT))
    already = ctl.health(ctl.endpoint_for_port(port)) is not None
    endpoint = ctl.up(paths, port)
    yield endpoint
    if not already:
        ctl.down(paths)


@pytest.fixture(scope="session")
def aws_client(localstack_endpoint: str) -> Any:
    """A factory: aws_client("sqs") is a boto3 client bound to LocalStack."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=localstack_endpoint)

    return make


class Terraform:
    """Runs Terraform in one working folder against LocalStack; state stays in that folder."""

    def __init__(self, workdir: Path, variables: dict[str, object]) -> None:
        self.workdir = workdir
        self.variables = variables

    def _run(self, *args: str) -> str:
        import subprocess

        env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0")
        if not Path(env.get("TF_CLI_CONFIG_FILE", "")).is_file():
            # The offline provider mirror where it exists (as the Makefile does), the registry elsewhere.
            env.pop("TF_CLI_CONFIG_FILE", None)
            if Path("/opt/tf-plugins").is_dir():
                env["TF_CLI_CONFIG_FILE"] = str(REPO / "terraform" / "mirror.tfrc")
        env.setdefault("TF_PLUGIN_CACHE_DIR", str(REPO / ".terraform-cache"))
        Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["terraform", *args], cwd=self.workdir, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def _var_args(self) -> list[str]:
        import json

        return [
            f"-var={key}={value if isinstance(value, str) else json.dumps(value)}"
            for key, value in self.variables.items()
        ]

    def init(self) -> None:
        self._run("init", "-input=false", "-no-color")

    def apply(self) -> dict[str, Any]:
        import json

        self._run("apply", "-auto-approve", "-input=false", "-no-color", *self._var_args())
        outputs = json.loads(self._run("output", "-json"))
        return {name: output["value"] for name, output in outputs.items()}

    def destroy(self) -> None:
        self._run("destroy", "-auto-approve", "-input=false", "-no-color", *self._var_args())

    def state_resources(self) -> list[str]:
        return self._run("state", "list").split() if (self.workdir / "terraform.tfstate").exists() else []
