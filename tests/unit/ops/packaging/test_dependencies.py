"""Reading a user's requirements (file, uv.lock, pylock.toml) and shardsafe's own; no network."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from shardsafe.ops.packaging import PackagingError
from shardsafe.ops.packaging.dependencies import read_requirements, shardsafe_requirements


def test_a_requirements_file_is_given_to_uv_whole(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-r base.txt\nattrs==26.1.0\n")
    assert read_requirements(requirements, "uv") == [str(requirements.resolve())]


def test_a_pylock_gives_its_pins_with_their_markers_and_not_the_project(tmp_path: Path) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\n'
        '[[packages]]\nname = "attrs"\nversion = "26.1.0"\n'
        '[[packages]]\nname = "tomli"\nversion = "2.2.1"\nmarker = "python_full_version < \'3.11\'"\n'
        '[[packages]]\nname = "my-project"\n[packages.directory]\npath = "."\n'
    )
    assert read_requirements(lock, "uv") == ["attrs==26.1.0", "tomli==2.2.1; python_full_version < '3.11'"]


@pytest.mark.parametrize(
    ("name", "extras", "named"),
    [
        ("missing.txt", (), "requirements {path} is not a file"),
        ("Pipfile", (), "not a requirements file (.txt, .in), uv.lock or pylock.toml"),
        ("requirements.txt", ("tracing",), "extras ['tracing'] apply to a uv.lock only"),
    ],
)
def test_requirements_it_cannot_read_are_refused_with_the_fix(
    tmp_path: Path, name: str, extras: tuple[str, ...], named: str
) -> None:
    path = tmp_path / name
    if name != "missing.txt":
        path.write_text("attrs\n")
    with pytest.raises(PackagingError) as raised:
        read_requirements(path, "uv", extras=extras)
    assert named.format(path=path) in str(raised.value)


def test_shardsafes_requirements_are_its_tracing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = [
        'aws-xray-sdk>=2.14; extra == "tracing"',
        'boto3>=1.34; extra == "aws"',
        "tomli; python_version < '3.11'",
    ]
    monkeypatch.setattr(metadata, "requires", lambda name: declared if name == "shardsafe" else None)
    assert shardsafe_requirements() == ["aws-xray-sdk>=2.14", "tomli; python_version < '3.11'"]
    assert shardsafe_requirements(("aws",)) == ["boto3>=1.34", "tomli; python_version < '3.11'"]


def test_the_installed_shardsafe_declares_its_tracing_dependency() -> None:
    assert [line.split(">=")[0] for line in shardsafe_requirements()] == ["aws-xray-sdk"]
