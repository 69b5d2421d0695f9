"""Run a benchmark step in a fresh interpreter and read back the one result line it prints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULT_MARK = "BENCH-RESULT "


def run_python(
    code: str,
    args: list[str],
    *,
    what: str,
    timeout_s: float,
    interpreter_flags: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[dict[str, Any], str]:
    """``python [flags] -c code args``: the JSON after the last RESULT_MARK line, and the child's stderr."""
    done = subprocess.run(
        [sys.executable, *interpreter_flags, "-c", code, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result, done.stderr
