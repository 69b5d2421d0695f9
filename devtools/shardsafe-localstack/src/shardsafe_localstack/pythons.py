"""Find a working Python interpreter of a given version on this machine: the project's one way to look.

The Makefile runs this file with any ``python3`` to pick the Python that builds the environment
(3.13 or 3.12: LocalStack 2026.3.0 and the Lambda runtimes need one), and the process executor
imports it to find the interpreter of a function's runtime. Standard library only, and it runs
as a script, because it is needed before the environment exists.

    python3 devtools/shardsafe-localstack/src/shardsafe_localstack/pythons.py          # 3.13 or 3.12
    python3 devtools/shardsafe-localstack/src/shardsafe_localstack/pythons.py 3.12     # that one
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

#: What the project runs on, newest first.
SUPPORTED = ("3.13", "3.12")


class PythonNotFound(LookupError):
    """No interpreter of the wanted versions runs here; the message says what to install or set."""


def runs_version(path: str, version: str) -> bool:
    """Whether ``path`` runs and is Python ``version`` (pyenv shims of versions not installed do not)."""
    try:
        out = subprocess.run(
            [path, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def candidates(version: str) -> list[str]:
    """Where a Python ``version`` may be: on PATH, under pyenv, in /usr/local/bin and /usr/bin."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = [
        shutil.which(f"python{version}"),
        *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python3"), reverse=True),
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
    ]
    return [path for path in found if path]


def find_python(versions: Sequence[str] = SUPPORTED, override: str | None = None) -> str:
    """The path of a Python of one of ``versions`` (the first found, in that order); ``override``, when
    given, must be one. PythonNotFound says what to install or set otherwise."""
    if override:
        path = shutil.which(override) or override
        if any(runs_version(path, version) for version in versions):
            return path
        raise PythonNotFound(
            f"{override} is not a working Python {' or '.join(versions)}: point it at one "
            f"(for example /usr/bin/python{versions[0]})"
        )
    for version in versions:
        for path in candidates(version):
            if runs_version(path, version):
                return path
    python3 = shutil.which("python3")
    if python3 and any(runs_version(python3, version) for version in versions):
        return python3
    raise PythonNotFound(
        f"no working Python {' or '.join(versions)} found (looked on PATH, under pyenv and in /usr/bin): "
        f"install one, for example `pyenv install {versions[0]}` or `apt-get install python{versions[0]}`"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the path of a Python of the versions named (default 3.13 or 3.12); $PYTHON, if set, must be one."""
    versions = tuple(sys.argv[1:] if argv is None else argv) or SUPPORTED
    try:
        print(find_python(versions, override=os.environ.get("PYTHON") or None))
    except PythonNotFound as error:
        print(
            f"error: {error}; or name one with `make PYTHON=/path/to/python{versions[0]} ...`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
