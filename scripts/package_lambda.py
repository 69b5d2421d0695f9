#!/usr/bin/env python3
"""Build the Lambda deployment zip: shardsafe, the handler template, and aws-xray-sdk for the target platform.

The zip is reproducible: the same sources and lock file give the same bytes. Dependencies come
from uv.lock (``uv export``, with hashes) as manylinux wheels for the Lambda platform and Python;
boto3, botocore and their dependencies are left out because the Lambda runtime provides them.
Entries are sorted, dated 1980-01-01, mode 0644, with no ``__pycache__`` and no install
bookkeeping (``RECORD``, ``INSTALLER``, ``REQUESTED``, ``direct_url.json``).

    python scripts/package_lambda.py --runtime python3.13 --arch x86_64 --output build/lambda.zip
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The Lambda Python runtimes ship these; bundling them would shadow the runtime's copies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
PLATFORMS = {"x86_64": "x86_64-manylinux2014", "arm64": "aarch64-manylinux2014"}
INSTALL_BOOKKEEPING = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


class PackagingError(RuntimeError):
    """The zip could not be built; the message says what to do."""


def python_version(runtime: str) -> str:
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match:
        raise PackagingError(f"--runtime must look like python3.13, got {runtime!r}")
    return match.group(1)


def export_requirements(uv: str, destination: Path) -> Path:
    """The pinned, hashed runtime requirements of shardsafe[tracing], less what Lambda provides."""
    command = [
        uv, "export", "--frozen", "--no-dev", "--extra", "tracing", "--no-emit-project",
        "--no-emit-workspace", "--format", "requirements-txt", "--no-header",
        "--output-file", str(destination),
    ]  # fmt: skip
    for package in RUNTIME_PROVIDED:
        command += ["--no-emit-package", package]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return destination


def install_dependencies(uv: str, requirements: Path, target: Path, version: str, arch: str) -> None:
    command = [
        uv, "pip", "install", "--quiet", "--target", str(target), "--requirement", str(requirements),
        "--python-platform", PLATFORMS[arch], "--python-version", version,
        "--only-binary", ":all:", "--no-deps", "--require-hashes", "--no-compile", "--link-mode", "copy",
    ]  # fmt: skip
    subprocess.run(command, cwd=REPO, check=True)


def add_sources(staging: Path, template: Path) -> None:
    """shardsafe (without its CLI, which Lambda does not run) and the template as handler.py."""
    package = REPO / "src" / "shardsafe"
    shutil.copytree(
        package,
        staging / "shardsafe",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "cli"),
    )
    shutil.copyfile(template, staging / "handler.py")


def zip_entries(staging: Path) -> list[tuple[str, Path]]:
    """Every file to ship, by its path in the zip, sorted; caches, bookkeeping, scripts and uv's .lock left out."""
    entries: list[tuple[str, Path]] = []
    for path in staging.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(staging)
        parts = relative.parts
        if "__pycache__" in parts or path.suffix == ".pyc" or parts[0] == "bin" or parts[0].startswith("."):
            continue
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALL_BOOKKEEPING:
            continue
        entries.append((relative.as_posix(), path))
    entries.sort()
    return entries


def write_zip(entries: list[tuple[str, Path]], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3  # unix, so the mode below is read
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    os.replace(partial, output)


def build(runtime: str, arch: str, output: Path, uv: str, template: Path) -> Path:
    if arch not in PLATFORMS:
        raise PackagingError(f"--arch must be one of {sorted(PLATFORMS)}, got {arch!r}")
    version = python_version(runtime)
    with tempfile.TemporaryDirectory(prefix="shardsafe-package-") as scratch:
        scratch_path = Path(scratch)
        staging = scratch_path / "staging"
        staging.mkdir()
        requirements = export_requirements(uv, scratch_path / "requirements.txt")
        install_dependencies(uv, requirements, staging, version, arch)
        add_sources(staging, template)
        write_zip(zip_entries(staging), output)
    return output


def find_uv() -> str:
    for candidate in (os.environ.get("UV"), str(REPO / ".tools" / "bin" / "uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise PackagingError("uv not found: run `make venv` (it installs .tools/bin/uv) or pass --uv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runtime", default="python3.13", help="Lambda runtime, e.g. python3.12 (default python3.13)"
    )
    parser.add_argument("--arch", default="x86_64", choices=sorted(PLATFORMS), help="Lambda architecture")
    parser.add_argument(
        "--output", type=Path, help="zip to write (default build/lambda-<runtime>-<arch>.zip)"
    )
    parser.add_argument("--uv", help="the uv executable (default .tools/bin/uv, then PATH)")
    parser.add_argument(
        "--template", type=Path, default=REPO / "templates" / "handler.py", help="handler.py source"
    )
    args = parser.parse_args(argv)
    output = args.output or REPO / "build" / f"lambda-{args.runtime}-{args.arch}.zip"
    try:
        built = build(args.runtime, args.arch, output, args.uv or find_uv(), args.template)
    except (PackagingError, subprocess.CalledProcessError) as error:
        print(f"package_lambda: {error}", file=sys.stderr)
        return 1
    print(built)
    return 0


if __name__ == "__main__":
    sys.exit(main())
