"""write_zip: reproducible, atomic, and safe when two builds of one zip run at once."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest

from shardsafe.ops.packaging.zipfiles import write_zip


def test_two_builds_of_the_same_zip_at_once_both_end_with_the_whole_zip(tmp_path: Path) -> None:
    """Two test workers (or shells) running `make package` together: each replaces the zip whole."""
    output = tmp_path / "build" / "lambda.zip"
    files = {f"module_{n}.py": bytes([n % 256]) * 200_000 for n in range(40)}
    errors: list[BaseException] = []

    def build() -> None:
        try:
            write_zip(files, output)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == sorted(files)
        assert archive.testzip() is None
    assert [path.name for path in output.parent.iterdir()] == ["lambda.zip"]  # no partial file left
    assert output.stat().st_mode & 0o777 == 0o644


def test_a_build_that_fails_leaves_neither_a_partial_file_nor_a_changed_zip(tmp_path: Path) -> None:
    output = tmp_path / "lambda.zip"
    write_zip({"a.py": b"first"}, output)
    before = output.read_bytes()
    with pytest.raises(FileNotFoundError):
        write_zip({"b.py": tmp_path / "missing.py"}, output)
    assert output.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["lambda.zip"]
