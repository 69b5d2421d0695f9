"""Build the Lambda deployment zip: a handler file, the whole shardsafe package, aws-xray-sdk for the target.

The one zip builder of the project: ``make package`` runs it, and the demo, the benchmarks and the
end-to-end tests add their own entry points to its zip with :func:`add_to_zip`. Every zip it writes
is reproducible: the same inputs give the same bytes (entries sorted, dated 1980-01-01, mode 0644,
no ``__pycache__``, no install bookkeeping). Dependencies come from the project's ``uv.lock``
(``uv export``, with hashes) as manylinux wheels for the Lambda platform and Python; what the
Lambda runtime provides (:data:`RUNTIME_PROVIDED`) is left out, since bundling it would shadow the
runtime's copies.

    from shardsafe.packaging import build_lambda_zip

    build_lambda_zip(Path("build/lambda.zip"), handler=Path("templates/handler.py"), project=Path("."))

or ``python -m shardsafe.packaging --runtime python3.13 --arch x86_64 --output build/lambda.zip``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from shardsafe.errors import ShardsafeError

__all__ = [
    "PLATFORMS",
    "RUNTIME_PROVIDED",
    "PackagingError",
    "add_to_zip",
    "build_lambda_zip",
    "find_uv",
    "lambda_zip_name",
    "reproducible_zip",
    "write_zip",
]

#: What AWS's Python runtimes ship besides the standard library: distribution name -> top-level module.
#: Left out of the zip; the LocalStack process executor and the cold-start benchmark put the same
#: modules on the function's path, as the runtime does.
RUNTIME_PROVIDED: Mapping[str, str] = MappingProxyType(
    {
        "boto3": "boto3",
        "botocore": "botocore",
        "s3transfer": "s3transfer",
        "jmespath": "jmespath",
        "python-dateutil": "dateutil",
        "six": "six",
        "urllib3": "urllib3",
    }
)
#: Lambda architecture -> the platform uv installs wheels for.
PLATFORMS: Mapping[str, str] = MappingProxyType(
    {"x86_64": "x86_64-manylinux2014", "arm64": "aarch64-manylinux2014"}
)
INSTALL_BOOKKEEPING = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
PACKAGE_DIR = Path(__file__).resolve().parent

#: What goes in a zip: the name of an entry -> its bytes, or the file holding them.
ZipContent = bytes | Path


class PackagingError(ShardsafeError):
    """The zip could not be built; the message names the value at fault and what to do."""


def lambda_zip_name(runtime: str, arch: str) -> str:
    """The file name ``make package`` gives the zip: ``lambda-python3.13-x86_64.zip``."""
    return f"lambda-{runtime}-{arch}.zip"


def python_version(runtime: str) -> str:
    """``3.13`` for the Lambda runtime ``python3.13``."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match:
        raise PackagingError(f"runtime must look like python3.13, got {runtime!r}")
    return match.group(1)


def find_uv(uv: str | None = None) -> str:
    """The uv executable: ``uv`` if given (it must exist), else $UV, else uv on PATH."""
    if uv:
        if Path(uv).is_file():
            return uv
        raise PackagingError(
            f"uv={uv!r} is not a file: name the uv executable (`make venv` installs .tools/bin/uv)"
        )
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise PackagingError(
        "uv not found: pass --uv PATH, set UV, or put uv on PATH (`make venv` installs .tools/bin/uv)"
    )


def reproducible_zip(files: Mapping[str, ZipContent]) -> bytes:
    """A zip of ``files`` (name in the zip -> content) whose bytes depend on the contents alone."""
    path = _scratch_zip()
    try:
        write_zip(files, path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def write_zip(files: Mapping[str, ZipContent], output: Path) -> Path:
    """Write ``files`` to ``output`` reproducibly (sorted, fixed date, mode 0644); atomic."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(files):
            content = files[name]
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3  # unix, so the mode below is read
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = content.read_bytes() if isinstance(content, Path) else content
            archive.writestr(info, data, compresslevel=9)
    os.replace(partial, output)
    return output


def add_to_zip(base: Path, files: Mapping[str, ZipContent], output: Path) -> Path:
    """``base``'s entries plus ``files`` (a name in both takes the content from ``files``), written
    reproducibly to ``output``: how the demo, the benchmarks and the tests add an entry point."""
    if not base.is_file():
        raise PackagingError(f"{base} does not exist: build it first (`make package`)")
    with zipfile.ZipFile(base) as archive:
        entries: dict[str, ZipContent] = {
            info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()
        }
    entries.update(files)
    return write_zip(entries, output)


def build_lambda_zip(
    output: Path,
    *,
    handler: Path,
    project: Path,
    runtime: str = "python3.13",
    arch: str = "x86_64",
    uv: str | None = None,
) -> Path:
    """Write the Lambda zip to ``output``: ``handler`` as ``handler.py``, the shardsafe package, and the
    runtime dependencies of ``shardsafe[tracing]`` locked in ``project``'s uv.lock, for ``runtime`` on ``arch``."""
    if arch not in PLATFORMS:
        raise PackagingError(f"arch must be one of {sorted(PLATFORMS)}, got {arch!r}")
    version = python_version(runtime)
    if not handler.is_file():
        raise PackagingError(f"handler {handler} is not a file: name the handler module to ship")
    if not (project / "uv.lock").is_file():
        raise PackagingError(
            f"project {project} has no uv.lock: name the folder of shardsafe's pyproject.toml"
        )
    uv = find_uv(uv)
    with tempfile.TemporaryDirectory(prefix="shardsafe-package-") as scratch:
        staging = Path(scratch) / "staging"
        requirements = _export_requirements(uv, project, Path(scratch) / "requirements.txt")
        _install(uv, project, requirements, staging, version, arch)
        entries = dict(_installed_entries(staging))
        entries.update(_package_entries(PACKAGE_DIR, "shardsafe"))
        entries["handler.py"] = handler
        return write_zip(entries, output)


def _export_requirements(uv: str, project: Path, destination: Path) -> Path:
    """The pinned, hashed runtime requirements of shardsafe[tracing], less what Lambda provides."""
    command = [
        uv, "export", "--frozen", "--no-dev", "--extra", "tracing", "--no-emit-project",
        "--no-emit-workspace", "--format", "requirements-txt", "--no-header",
        "--output-file", str(destination),
    ]  # fmt: skip
    for distribution in RUNTIME_PROVIDED:
        command += ["--no-emit-package", distribution]
    _run(command, project, quiet=True)
    return destination


def _install(uv: str, project: Path, requirements: Path, target: Path, version: str, arch: str) -> None:
    command = [
        uv, "pip", "install", "--quiet", "--target", str(target), "--requirement", str(requirements),
        "--python-platform", PLATFORMS[arch], "--python-version", version,
        "--only-binary", ":all:", "--no-deps", "--require-hashes", "--no-compile", "--link-mode", "copy",
    ]  # fmt: skip
    _run(command, project)


def _run(command: list[str], cwd: Path, *, quiet: bool = False) -> None:
    try:
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL if quiet else None)
    except (OSError, subprocess.CalledProcessError) as error:
        raise PackagingError(f"`{' '.join(command[:3])} ...` failed in {cwd}: {error}") from error


def _installed_entries(staging: Path) -> Iterable[tuple[str, Path]]:
    """The installed dependencies, less caches, console scripts, uv's dot files and install bookkeeping."""
    for path in staging.rglob("*"):
        relative = path.relative_to(staging)
        parts = relative.parts
        if not path.is_file() or _is_cache(relative) or parts[0] == "bin" or parts[0].startswith("."):
            continue
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALL_BOOKKEEPING:
            continue
        yield relative.as_posix(), path


def _package_entries(package: Path, name: str) -> Iterable[tuple[str, Path]]:
    """Every file of a package folder (caches left out), under ``name/`` in the zip."""
    for path in package.rglob("*"):
        relative = path.relative_to(package)
        if path.is_file() and not _is_cache(relative):
            yield f"{name}/{relative.as_posix()}", path


def _is_cache(relative: Path) -> bool:
    return "__pycache__" in relative.parts or relative.suffix == ".pyc"


def _scratch_zip() -> Path:
    handle, name = tempfile.mkstemp(prefix="shardsafe-", suffix=".zip")
    os.close(handle)
    return Path(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shardsafe.packaging", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runtime", default="python3.13", help="Lambda runtime (default python3.13)")
    parser.add_argument("--arch", default="x86_64", choices=sorted(PLATFORMS), help="Lambda architecture")
    parser.add_argument(
        "--output", type=Path, help="zip to write (default build/lambda-<runtime>-<arch>.zip)"
    )
    parser.add_argument(
        "--handler", type=Path, default=Path("templates/handler.py"), help="shipped as handler.py"
    )
    parser.add_argument("--project", type=Path, default=Path(), help="folder with uv.lock (default .)")
    parser.add_argument("--uv", help="the uv executable (default $UV, then PATH)")
    args = parser.parse_args(argv)
    output = args.output or Path("build") / lambda_zip_name(args.runtime, args.arch)
    try:
        built = build_lambda_zip(
            output,
            handler=args.handler,
            project=args.project,
            runtime=args.runtime,
            arch=args.arch,
            uv=args.uv,
        )
    except PackagingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(built)
    return 0


if __name__ == "__main__":
    sys.exit(main())
