"""Reproducible zips: the same entries give the same bytes (sorted, dated 1980-01-01, mode 0644)."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from shardsafe.ops.packaging.errors import PackagingError

__all__ = ["FIXED_DATE", "ZipContent", "add_to_zip", "folder_entries", "reproducible_zip", "write_zip"]

FIXED_DATE = (1980, 1, 1, 0, 0, 0)

#: What goes in a zip: the name of an entry -> its bytes, or the file holding them.
ZipContent = bytes | Path


def reproducible_zip(files: Mapping[str, ZipContent]) -> bytes:
    """A zip of ``files`` (name in the zip -> content) whose bytes depend on the contents alone."""
    handle, name = tempfile.mkstemp(prefix="shardsafe-", suffix=".zip")
    os.close(handle)
    path = Path(name)
    try:
        write_zip(files, path)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


def write_zip(files: Mapping[str, ZipContent], output: Path) -> Path:
    """Write ``files`` to ``output`` reproducibly (sorted, fixed date, mode 0644); atomic.

    The partial file is this process's own, so two builds of the same zip at once (two shells, two
    test workers) each replace ``output`` whole rather than one taking the other's half-written file.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    os.close(handle)
    partial = Path(partial_name)
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in sorted(files):
                content = files[name]
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.create_system = 3  # unix, so the mode below is read
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = content.read_bytes() if isinstance(content, Path) else content
                archive.writestr(info, data, compresslevel=9)
        partial.chmod(0o644)  # mkstemp makes it 0600: a zip is read by whoever deploys it, as before
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
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


def folder_entries(
    folder: Path, prefix: str = "", *, skip: Iterable[Path] = ()
) -> Iterable[tuple[str, Path]]:
    """Every file under ``folder`` as ``prefix + relative path``, less caches, dot files and folders,
    and the files in ``skip`` (the zip being written, when it is inside the folder)."""
    skipped = {path.resolve() for path in skip}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or is_cache(relative) or any(p.startswith(".") for p in relative.parts):
            continue
        if path.resolve() in skipped or path.name.endswith(".zip.partial"):
            continue
        yield prefix + relative.as_posix(), path


def is_cache(relative: Path) -> bool:
    return "__pycache__" in relative.parts or relative.suffix == ".pyc"
