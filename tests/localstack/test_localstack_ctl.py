"""The embedded LocalStack's control: stopping exactly what it started, and saying why a start failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shardsafe_localstack import ctl


@pytest.fixture
def paths(tmp_path: Path) -> ctl.Paths:
    return ctl.Paths(tmp_path / "state")


@pytest.fixture(autouse=True)
def no_external_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALSTACK_ENDPOINT", raising=False)


def _group_leader_ignoring_sigterm(paths: ctl.Paths) -> subprocess.Popen[bytes]:
    """A process group shaped like LocalStack's: a leader that ignores SIGTERM, and a child."""
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    paths.root.mkdir(parents=True)
    paths.pid_file.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(_members(process.pid)) < 2:
        time.sleep(0.05)
    return process


def _members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def test_down_kills_the_whole_group_even_when_sigterm_is_ignored(paths: ctl.Paths) -> None:
    process = _group_leader_ignoring_sigterm(paths)
    assert len(_members(process.pid)) == 2

    assert ctl.down(paths, deadline_s=0.5) is True
    process.wait(timeout=10)

    assert _members(process.pid) == []
    assert not paths.pid_file.exists()


def test_down_when_nothing_runs_is_a_no_op(paths: ctl.Paths) -> None:
    assert ctl.down(paths) is False
    paths.root.mkdir(parents=True)
    paths.pid_file.write_text("999999999\n")  # a stale pid file from a crashed run
    assert ctl.down(paths) is False
    assert not paths.pid_file.exists()


def test_an_external_endpoint_is_used_and_never_stopped(
    paths: ctl.Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = _group_leader_ignoring_sigterm(paths)
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", "http://127.0.0.1:9/")
    try:
        assert ctl.down(paths) is False
        assert len(_members(process.pid)) == 2
        with pytest.raises(
            ctl.LocalStackError, match=r"LOCALSTACK_ENDPOINT=http://127.0.0.1:9 does not answer"
        ):
            ctl.up(paths)
    finally:
        monkeypatch.delenv("LOCALSTACK_ENDPOINT")
        ctl.down(paths, deadline_s=0.1)


def test_a_taken_port_is_named_in_the_error(paths: ctl.Paths) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ctl.LocalStackError, match=rf"port {port} on 127.0.0.1 is taken"):
            ctl.up(paths, port=port)


@pytest.mark.parametrize(
    ("log", "cause"),
    [
        ("OSError: [Errno 98] Address already in use", "port 4566 is taken"),
        ("ModuleNotFoundError: No module named 'service_identity'", "a dependency is missing"),
        ("AttributeError: module 'OpenSSL.crypto' has no attribute 'add_extensions'", "incompatible version"),
        ("something else entirely", "see the log above"),
    ],
)
def test_a_failed_start_names_its_likely_cause(log: str, cause: str) -> None:
    assert cause in ctl._diagnose(log, 4566)


def test_the_environment_keeps_localstack_on_loopback_with_the_process_executor(paths: ctl.Paths) -> None:
    env = ctl._environment(paths, 4599)
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599"
    assert env["LAMBDA_RUNTIME_EXECUTOR"] == "process"
    assert env["SKIP_SSL_CERT_DOWNLOAD"] == "1"
    assert env["FILESYSTEM_ROOT"].startswith(str(paths.root))
    assert set(ctl.SERVICES.split(",")) >= {
        "kinesis",
        "lambda",
        "sqs",
        "sns",
        "s3",
        "iam",
        "sts",
        "logs",
        "cloudwatch",
    }


def test_kinesis_mock_keeps_its_state_in_memory_unless_asked_to_persist_it(
    paths: ctl.Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KINESIS_PERSISTENCE", raising=False)
    assert ctl._environment(paths, 4599)["KINESIS_PERSISTENCE"] == "0"
    monkeypatch.setenv("KINESIS_PERSISTENCE", "1")
    assert ctl._environment(paths, 4599)["KINESIS_PERSISTENCE"] == "1"


def test_the_executor_is_registered_as_a_localstack_plugin() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="localstack.lambda.runtime_executor")}
    assert names.get("process") == "shardsafe_localstack.plugin:ProcessRuntimeExecutorPlugin"
    assert os.path.exists(Path(ctl.__file__).parent / "runtime" / "bootstrap.py")


def test_run_passes_everything_after_the_double_dash_to_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, list[str]]] = []
    monkeypatch.setattr(ctl, "run", lambda paths, port, command: calls.append((port, command)) or 0)
    assert ctl.main(["run", "--port", "4599", "--", "pytest", "-m", "e2e", "--port", "x"]) == 0
    assert calls == [(4599, ["pytest", "-m", "e2e", "--port", "x"])]


def test_run_without_a_command_is_a_clear_error(paths: ctl.Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["run", "--dir", str(paths.root)]) == 1
    assert "run needs a command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("external", "already_running", "stopped"),
    [(False, False, True), (False, True, False), (True, False, False)],
    ids=["started-here", "already-running", "external"],
)
def test_a_session_stops_only_the_localstack_it_started(
    paths: ctl.Paths, monkeypatch: pytest.MonkeyPatch, external: bool, already_running: bool, stopped: bool
) -> None:
    if external:
        monkeypatch.setenv("LOCALSTACK_ENDPOINT", "http://127.0.0.1:9")
    downs: list[ctl.Paths] = []
    monkeypatch.setattr(ctl, "running", lambda paths: already_running)
    monkeypatch.setattr(ctl, "up", lambda paths, port: f"http://127.0.0.1:{port}")
    monkeypatch.setattr(ctl, "down", lambda paths: downs.append(paths) or True)
    with pytest.raises(RuntimeError, match="the work failed"), ctl.session(paths, 4599) as localstack:
        assert (localstack.endpoint, localstack.started_here) == ("http://127.0.0.1:4599", stopped)
        assert downs == []
        raise RuntimeError("the work failed")  # stopped all the same
    assert downs == ([paths] if stopped else [])


def test_a_kept_session_leaves_running_the_localstack_it_started(
    paths: ctl.Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    downs: list[ctl.Paths] = []
    monkeypatch.setattr(ctl, "running", lambda paths: False)
    monkeypatch.setattr(ctl, "up", lambda paths, port: f"http://127.0.0.1:{port}")
    monkeypatch.setattr(ctl, "down", lambda paths: downs.append(paths) or True)
    with ctl.session(paths, 4599, keep=True) as localstack:
        assert localstack.started_here
    assert downs == []
