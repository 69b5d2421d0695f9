"""The dependencies that go in a zip: read from the user's requirements (a requirements file, a uv.lock,
a pylock.toml) plus shardsafe's own, resolved by uv for the Lambda platform (manylinux wheels only),
less what the runtime provides, and installed into a folder.

Resolving and installing are two steps so that the install is by hash and without dependencies: what
:func:`resolve` pinned is exactly what is installed. uv's own settings (``UV_INDEX_URL``,
``UV_FIND_LINKS``, ``UV_CACHE_DIR`` ...) apply to both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from shardsafe.ops.packaging.errors import PackagingError
from shardsafe.ops.packaging.runtimes import RUNTIME_PROVIDED, LambdaRuntime

__all__ = [
    "INSTALL_BOOKKEEPING",
    "SHARDSAFE_EXTRAS",
    "find_uv",
    "install",
    "installed_entries",
    "read_requirements",
    "resolve",
    "shardsafe_requirements",
]

#: The extras of shardsafe that a Lambda zip or layer carries: X-Ray tracing (the handler traces each
#: batch when the function's tracing is Active).
SHARDSAFE_EXTRAS = ("tracing",)
INSTALL_BOOKKEEPING = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# uv: "Because psycopg2==2.9.10 has no usable wheels ..." / "... has no wheels with a matching platform tag"
_NO_WHEEL = re.compile(r"\b([A-Za-z0-9][A-Za-z0-9._-]*)(?:[=<>!~]=?\S*)? has no (?:usable )?wheels")


def find_uv(uv: str | None = None) -> str:
    """The uv executable: ``uv`` if given (it must exist), else $UV, else uv on PATH."""
    if uv:
        if Path(uv).is_file():
            return os.path.abspath(uv)  # uv runs in other folders (a lock's, the scratch one)
        raise PackagingError(
            f"uv={uv!r} is not a file: name the uv executable (`make venv` installs .tools/bin/uv)"
        )
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return os.path.abspath(candidate)
    raise PackagingError(
        "uv not found: pass --uv PATH, set UV, or put uv on PATH (`pip install uv`; "
        "`make venv` installs .tools/bin/uv)"
    )


def read_requirements(source: Path, uv: str, *, extras: Sequence[str] = ()) -> list[str]:
    """The requirement lines of ``source``: a requirements file (``*.txt``, ``*.in``), a ``uv.lock``
    (its project's runtime dependencies, by ``uv export``, with ``extras``), or a ``pylock.toml``."""
    if not source.is_file():
        raise PackagingError(
            f"requirements {source} is not a file: give a requirements.txt, a uv.lock or a pylock.toml"
        )
    if extras and source.name != "uv.lock":
        raise PackagingError(
            f"extras {list(extras)} apply to a uv.lock only, not {source}: "
            "write the extras into the requirements instead (package[extra])"
        )
    if source.name == "uv.lock":
        return _export_lock(source, uv, extras)
    if source.name == "pylock.toml" or (source.name.startswith("pylock.") and source.suffix == ".toml"):
        return _pylock_requirements(source)
    if source.suffix in {".txt", ".in"}:
        return [str(source.resolve())]  # given to uv as a file, so its -r, -c and options work
    raise PackagingError(
        f"requirements {source}: not a requirements file (.txt, .in), uv.lock or pylock.toml; "
        "export yours to requirements.txt (`uv export`, `pip freeze`, `poetry export`)"
    )


def shardsafe_requirements(extras: Sequence[str] = SHARDSAFE_EXTRAS) -> list[str]:
    """shardsafe's runtime requirements with ``extras``, from the installed package's metadata."""
    try:
        declared = metadata.requires("shardsafe") or []
    except metadata.PackageNotFoundError:
        raise PackagingError(
            "shardsafe's metadata is not installed: install shardsafe (pip install, or `make venv` here)"
        ) from None
    wanted = []
    for line in declared:
        requirement, _, marker = (part.strip() for part in line.partition(";"))
        named_extras = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if named_extras:
            if set(named_extras) & set(extras):
                wanted.append(requirement)
        else:
            wanted.append(f"{requirement}; {marker}" if marker else requirement)
    return wanted


def resolve(requirements: Sequence[str], target: LambdaRuntime, uv: str, scratch: Path) -> Path:
    """Pin ``requirements`` (lines, or paths of requirements files) for ``target`` with hashes, wheels
    only, without what the runtime provides or shardsafe itself; returns the pinned requirements file."""
    lines: list[str] = []
    files: list[str] = []
    for requirement in requirements:
        (files if Path(requirement).is_absolute() and Path(requirement).is_file() else lines).append(
            requirement
        )
    given = scratch / "requirements.in"
    given.write_text("".join(f"{line}\n" for line in lines))
    pinned = scratch / "requirements.txt"
    command = [
        uv, "pip", "compile", str(given), *files, "--output-file", str(pinned), "--quiet",
        "--python-platform", target.platform, "--python-version", target.python_version,
        "--only-binary", ":all:", "--generate-hashes", "--no-header", "--no-annotate",
        "--no-emit-package", "shardsafe",
    ]  # fmt: skip
    for distribution in RUNTIME_PROVIDED:
        command += ["--no-emit-package", distribution]
    _run(command, scratch, target)
    return pinned


def install(pinned: Path, target: LambdaRuntime, uv: str, destination: Path) -> Path:
    """Install the pinned requirements as ``target``'s wheels into ``destination``, by hash, no deps."""
    command = [
        uv, "pip", "install", "--quiet", "--target", str(destination), "--requirement", str(pinned),
        "--python-platform", target.platform, "--python-version", target.python_version,
        "--only-binary", ":all:", "--no-deps", "--require-hashes", "--no-compile", "--link-mode", "copy",
    ]  # fmt: skip
    if pinned.read_text().strip():
        _run(command, pinned.parent, target)
    destination.mkdir(parents=True, exist_ok=True)
    return destination


def installed_entries(staging: Path, prefix: str = "") -> Iterable[tuple[str, Path]]:
    """The installed dependencies, less caches, console scripts, uv's dot files and install bookkeeping."""
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging)
        parts = relative.parts
        if not path.is_file() or _is_cache(relative) or parts[0] == "bin" or parts[0].startswith("."):
            continue
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALL_BOOKKEEPING:
            continue
        yield prefix + relative.as_posix(), path


def _is_cache(relative: Path) -> bool:
    return "__pycache__" in relative.parts or relative.suffix == ".pyc"


def _export_lock(lock: Path, uv: str, extras: Sequence[str]) -> list[str]:
    """A uv project's runtime dependencies, pinned by its lock (not the project itself: that is the code)."""
    command = [
        uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-emit-workspace",
        "--no-hashes", "--format", "requirements-txt", "--no-header", "--no-annotate",
    ]  # fmt: skip
    for extra in extras:
        command += ["--extra", extra]
    exported = _run(command, lock.parent, None)
    return [line for line in exported.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _pylock_requirements(lock: Path) -> list[str]:
    """A pylock.toml's packages (PEP 751) as pins; uv resolves them again for the Lambda platform."""
    try:
        document = tomllib.loads(lock.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PackagingError(f"requirements {lock} is not a readable pylock.toml: {error}") from None
    pins = []
    for package in document.get("packages", []):
        if "name" not in package or "version" not in package:
            continue  # a package from a folder or VCS without a version: the user's own code
        marker = package.get("marker")
        pin = f"{package['name']}=={package['version']}"
        pins.append(f"{pin}; {marker}" if marker else pin)
    return pins


def _run(command: list[str], cwd: Path, target: LambdaRuntime | None) -> str:
    """Run uv; a failure becomes a PackagingError naming what uv could not do (a dependency with no
    wheel for the platform is named with the platform)."""
    try:
        completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise PackagingError(f"cannot run {command[0]}: {error}; check --uv") from error
    if completed.returncode == 0:
        return completed.stdout
    output = (completed.stderr or completed.stdout).strip()
    missing = _NO_WHEEL.search(output)
    if missing and target is not None:
        raise PackagingError(
            f"dependency {missing.group(1)!r} has no wheel for {target} ({target.platform}, "
            f"CPython {target.python_version}): use a version that publishes manylinux wheels for it, "
            "build the wheel on that platform and point uv at it (UV_FIND_LINKS), or drop the dependency."
            f"\nuv said: {output}"
        )
    raise PackagingError(f"`{' '.join(command[:3])} ...` failed in {cwd}:\n{output}")
