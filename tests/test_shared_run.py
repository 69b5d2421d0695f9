"""What the processes of one end-to-end run share (tests/e2e/shared_run.py): a build made once whoever
asks first, and one LocalStack, started by the first worker and stopped after the run only if it was
started for it. No LocalStack here: its start and stop are stood in for."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from shardsafe_localstack import ctl

from tests.e2e import shared_run


def _build_once(run_dir: str, log: str) -> str:
    def build() -> Path:
        with open(log, "a") as built:
            built.write("built\n")
        time.sleep(0.5)  # stands for the build's work, long enough for every worker to ask meanwhile
        return Path(run_dir) / "the.zip"

    return str(shared_run.once(Path(run_dir), "zip", build))


def test_a_build_asked_for_by_every_worker_at_once_is_made_once(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with multiprocessing.get_context("spawn").Pool(4) as workers:
        paths = workers.starmap(_build_once, [(str(tmp_path), str(log))] * 8)
    assert set(paths) == {str(tmp_path / "the.zip")}
    assert log.read_text() == "built\n"


@pytest.mark.parametrize(
    ("running_already", "keep", "stopped"), [(False, False, True), (True, False, False), (False, True, False)]
)
def test_the_run_starts_localstack_once_and_stops_only_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, running_already: bool, keep: bool, stopped: bool
) -> None:
    monkeypatch.delenv("LOCALSTACK_ENDPOINT", raising=False)
    started: list[int] = []
    stops: list[ctl.Paths] = []
    monkeypatch.setattr(ctl, "running", lambda paths: running_already)
    monkeypatch.setattr(ctl, "up", lambda paths, port: started.append(port) or f"http://127.0.0.1:{port}")
    monkeypatch.setattr(ctl, "down", lambda paths: stops.append(paths) or True)
    monkeypatch.setenv("LOCALSTACK_PORT", "4599")

    endpoints = {shared_run.localstack(tmp_path) for _ in range(3)}  # three workers ask
    assert endpoints == {"http://127.0.0.1:4599"}
    assert started == [4599], "the first worker starts it, the others read what it wrote"
    assert stops == [], "no worker stops it"

    shared_run.finish(tmp_path, keep=keep)
    assert len(stops) == (1 if stopped else 0)
