"""What the processes of one end-to-end run share: one LocalStack, and the zips built once.

`make test-e2e` runs the suite on several pytest-xdist workers against ONE LocalStack. Each worker
asks for it through the session fixture ``localstack_endpoint``; the first one (under a file lock in
the run's folder) starts it, or finds LOCALSTACK_ENDPOINT's or one already running, and writes down
what it found; the others read that. The LocalStack is stopped once, by the controlling process after
every worker is done (``tests/conftest.py``: :func:`finish`), and only if this run started it. A run
without xdist is the same run with one process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

#: A folder shared by every process of one pytest run, the xdist workers and their controller
#: (made, handed to the workers and removed by tests/conftest.py).
RUN_DIR = pytest.StashKey[Path]()
LOCALSTACK_RECORD = "localstack.json"


def localstack(run_dir: Path) -> str:
    """The endpoint of the run's LocalStack, started by the first worker that asks."""
    from shardsafe_localstack import ctl

    record = run_dir / LOCALSTACK_RECORD
    with FileLock(run_dir / f"{LOCALSTACK_RECORD}.lock"):
        if record.is_file():
            return str(json.loads(record.read_text())["endpoint"])
        session = ctl.start()
        record.write_text(
            json.dumps(
                {
                    "endpoint": session.endpoint,
                    "started_here": session.started_here,
                    "state_dir": str(session.state_dir) if session.state_dir else None,
                }
            )
        )
        return session.endpoint


def finish(run_dir: Path, *, keep: bool) -> None:
    """After the whole run: stop the LocalStack it started, unless ``keep``."""
    record = run_dir / LOCALSTACK_RECORD
    if not record.is_file():
        return
    from shardsafe_localstack import ctl

    found = json.loads(record.read_text())
    state_dir = found.get("state_dir")
    ctl.Session(found["endpoint"], bool(found["started_here"]), Path(state_dir) if state_dir else None).end(
        keep=keep
    )


def once(run_dir: Path, name: str, build: Callable[[], Path]) -> Path:
    """``build()`` run by one worker of the run; the others get the path it returned (a file they all read)."""
    done = run_dir / f"{name}.built"
    with FileLock(run_dir / f"{name}.lock"):
        if done.is_file():
            return Path(done.read_text())
        path = build()
        done.write_text(str(path))
        return path
