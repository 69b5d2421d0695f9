"""The shared stack's keep switch: a kept deployment is found again only where LocalStack still has it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shardsafe_harness import stack as stack_module
from shardsafe_harness.stack import RECORD_FILE, Deployment, keep_stack

ENDPOINT = "http://127.0.0.1:4566"


@pytest.mark.parametrize(("value", "kept"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_keep_switch_is_an_environment_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, kept: bool
) -> None:
    monkeypatch.setenv("SHARDSAFE_KEEP_STACK", value)
    assert keep_stack() is kept


def kept(workdir: Path, endpoint: str = ENDPOINT) -> None:
    """What a kept deployment leaves in its folder: its record and its Terraform state."""
    state = workdir / "examples" / "complete" / "terraform.tfstate"
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    record = {"endpoint": endpoint, "name_prefix": "ss-kept", "stream_name": "ss-kept"}
    (workdir / RECORD_FILE).write_text(json.dumps(record))


def resume(workdir: Path) -> Deployment:
    return Deployment.resume(ENDPOINT, workdir, workdir / "f.zip", handler="h.handler", shard_count=1)


def test_a_kept_stack_that_localstack_still_has_is_reused_under_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(stack_module, "_stream_exists", lambda endpoint, name: name == "ss-kept")
    kept(tmp_path)
    deployment = resume(tmp_path)
    assert (deployment.reused, deployment.prefix) == (True, "ss-kept")
    assert (tmp_path / "examples" / "complete" / "terraform.tfstate").is_file()
    assert (tmp_path / "examples" / "complete" / "main.tf").is_file(), "the example is copied afresh"


@pytest.mark.parametrize("gone", ["stream", "endpoint"])
def test_a_kept_stack_that_localstack_lost_is_forgotten_and_deployed_anew(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gone: str
) -> None:
    monkeypatch.setattr(stack_module, "_stream_exists", lambda endpoint, name: gone != "stream")
    kept(tmp_path, endpoint="http://127.0.0.1:9999" if gone == "endpoint" else ENDPOINT)
    deployment = resume(tmp_path)
    assert not deployment.reused and deployment.prefix != "ss-kept"
    assert not (tmp_path / "examples" / "complete" / "terraform.tfstate").exists()
