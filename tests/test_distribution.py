"""`uv build` gives a wheel and an sdist a package index takes: version, README, licence, classifiers,
URLs, the console script, and nothing of the repository's tests or tools."""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from shardsafe_harness import paths

import shardsafe
from shardsafe.ops.packaging import PackagingError, find_uv


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        uv = find_uv(str(paths.UV) if paths.UV.is_file() else None)
    except PackagingError as error:
        pytest.skip(str(error))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--package", "shardsafe", "--out-dir", str(out), "--quiet"],
        cwd=paths.REPO,
        check=True,
        timeout=300,
    )
    return out


def test_the_wheel_has_the_metadata_an_index_needs(dist: Path) -> None:
    (wheel,) = dist.glob("shardsafe-*-py3-none-any.whl")
    assert wheel.name == f"shardsafe-{shardsafe.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"shardsafe-{shardsafe.__version__}.dist-info"
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == "shardsafe" and metadata["Version"] == shardsafe.__version__
    assert metadata["License-Expression"] == "Apache-2.0" and metadata["License-File"] == "LICENSE"
    assert f"{info}/licenses/LICENSE" in names
    assert metadata["Requires-Python"] == ">=3.12"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# shardsafe\n")
    classifiers = metadata.get_all("Classifier") or []
    assert {
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Typing :: Typed",
    } <= set(classifiers)
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Repository", "Documentation", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert set(metadata.get_all("Provides-Extra") or []) == {"aws", "tracing"}
    assert "shardsafe = shardsafe.ops.cli:main" in entry_points
    assert {
        "shardsafe/py.typed",
        "shardsafe/ops/packaging/__init__.py",
        "shardsafe/ops/cli/_package_command.py",
    } <= names


def test_the_sdist_is_the_package_and_its_documents_only(dist: Path) -> None:
    (sdist,) = dist.glob("shardsafe-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "src/shardsafe/__init__.py"} <= names
    assert not [name for name in names if name.startswith(("tests/", "devtools/", "examples/", "demo/"))]
