"""`shardsafe package`'s pipeline on small inputs: thin zips need no dependency resolution, so most of
these run offline; the no-wheel case resolves against a local folder only (UV_NO_INDEX)."""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from shardsafe_harness import paths

from shardsafe.ops.cli import main as shardsafe
from shardsafe.ops.packaging import LambdaRuntime, PackagingError, SizeLimits, build_function_zip, find_uv
from shardsafe.ops.packaging.limits import LIMITS, check_size

GOOD_HANDLER = "from shardsafe import StreamProcessor\n\ndef lambda_handler(event, context):\n    return {}\n"


@pytest.fixture(autouse=True)
def uv(monkeypatch: pytest.MonkeyPatch) -> str:
    if paths.UV.is_file():
        monkeypatch.setenv("UV", str(paths.UV))
    try:
        return find_uv()
    except PackagingError as error:
        pytest.skip(str(error))


def source(tmp_path: Path, handler: str = GOOD_HANDLER, **files: str) -> Path:
    folder = tmp_path / "src"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "__init__.py").write_text("")
    (folder / "app" / "handler.py").write_text(handler)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_thin_zip_built_twice_has_the_same_bytes_and_only_the_users_code(tmp_path: Path) -> None:
    src = source(tmp_path, extra="x")
    (src / "app" / "__pycache__").mkdir()
    (src / "app" / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"cache")
    first = build_function_zip(
        tmp_path / "a.zip", source=src, handler="app.handler.lambda_handler", include_shardsafe=False
    )
    os.utime(src / "app" / "handler.py", (1_000_000_000, 1_000_000_000))  # another mtime, same bytes
    second = build_function_zip(
        tmp_path / "b.zip", source=src, handler="app.handler.lambda_handler", include_shardsafe=False
    )
    assert first.sha256 == second.sha256 == sha256(tmp_path / "b.zip")
    assert first.import_check_skipped is None, first.import_check_skipped
    with zipfile.ZipFile(first.path) as archive:
        assert archive.namelist() == ["app/__init__.py", "app/handler.py", "extra"]


def test_a_handler_that_does_not_import_is_named_with_its_exception(tmp_path: Path) -> None:
    src = source(tmp_path, "import shardsafe\nimport orders_client_not_installed\n")
    with pytest.raises(PackagingError) as raised:
        build_function_zip(
            tmp_path / "out.zip", source=src, handler="app.handler.lambda_handler", include_shardsafe=False
        )
    message = str(raised.value)
    assert "handler module 'app.handler' does not import" in message
    assert "ModuleNotFoundError: No module named 'orders_client_not_installed'" in message


def test_a_handler_module_without_the_function_says_so(tmp_path: Path) -> None:
    src = source(tmp_path, "def handle(event, context):\n    return {}\n")
    with pytest.raises(PackagingError, match=r"module 'app.handler' .* has no function 'lambda_handler'"):
        build_function_zip(
            tmp_path / "out.zip", source=src, handler="app.handler.lambda_handler", include_shardsafe=False
        )


def test_a_dependency_with_no_wheel_is_named_with_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    (links / "nowheel-1.0").mkdir(parents=True)
    (links / "nowheel-1.0" / "pyproject.toml").write_text('[project]\nname = "nowheel"\nversion = "1.0"\n')
    with tarfile.open(links / "nowheel-1.0.tar.gz", "w:gz") as sdist:
        sdist.add(links / "nowheel-1.0", arcname="nowheel-1.0")
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("nowheel==1.0\n")
    with pytest.raises(PackagingError) as raised:
        build_function_zip(
            tmp_path / "out.zip",
            source=source(tmp_path),
            handler="app.handler.lambda_handler",
            requirements=requirements,
            include_shardsafe=False,
            target=LambdaRuntime("python3.13", "arm64"),
        )
    assert "dependency 'nowheel' has no wheel for python3.13 on arm64 (aarch64-manylinux2014" in str(
        raised.value
    )


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        (
            SizeLimits(zipped_bytes=1000),
            r"zipped, over Lambda's 0\.0 MB \(1,000 bytes\) limit for a zip uploaded directly",
        ),
        (SizeLimits(unzipped_bytes=1000), r"unzips to .* over Lambda's 0\.0 MB \(1,000 bytes\) limit"),
    ],
)
def test_a_zip_over_lambdas_limits_is_refused_with_the_numbers_and_not_left_behind(
    tmp_path: Path, limits: SizeLimits, named: str
) -> None:
    src = source(tmp_path, big="".join(f"{n:08x}" for n in range(2000)))
    with pytest.raises(PackagingError, match=named) as raised:
        build_function_zip(
            tmp_path / "out.zip",
            source=src,
            handler="app.handler.lambda_handler",
            include_shardsafe=False,
            limits=limits,
        )
    assert "gettingstarted-limits.html" in str(raised.value)
    assert not (tmp_path / "out.zip").exists()


def test_lambdas_limits_are_50_mb_zipped_and_250_mb_unzipped(tmp_path: Path) -> None:
    assert (LIMITS.zipped_bytes, LIMITS.unzipped_bytes) == (52_428_800, 262_144_000)
    path = tmp_path / "small.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a", b"a")
    assert check_size(path) == (path.stat().st_size, 1)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["package"], "name your handler file or folder (SOURCE)"),
        (["package", "--layer", "src"], "--layer builds shardsafe's layer alone"),
        (["package", "no/such/dir"], "source no/such/dir does not exist"),
        (
            ["package", "src", "--handler", "lambda_handler"],
            "handler 'lambda_handler' is not module.function",
        ),
        (["package", "src", "--requirements", "Pipfile"], "requirements Pipfile is not a file"),
    ],
)
def test_the_command_refuses_bad_input_with_the_value_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    named: str,
) -> None:
    source(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert shardsafe(arguments) == 2
    assert re.search(re.escape(named), capsys.readouterr().err)


def test_the_command_prints_the_zip_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    source(tmp_path)
    monkeypatch.chdir(tmp_path)
    arguments = ["package", "src", "--handler", "app.handler.lambda_handler", "--thin", "--zip", "f.zip"]
    assert shardsafe([*arguments, "--output", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sha256"] == sha256(tmp_path / "f.zip")
    assert summary["import_checked"] is True and summary["arch"] == "x86_64"


def test_the_layer_is_shardsafe_and_its_dependencies_under_python_and_reproducible(tmp_path: Path) -> None:
    from shardsafe.ops.packaging import RUNTIME_PROVIDED, build_layer_zip

    first = build_layer_zip(tmp_path / "a.zip")
    second = build_layer_zip(tmp_path / "b.zip")
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
    assert all(name.startswith("python/") for name in names)
    tops = {name.split("/")[1] for name in names}
    assert {"shardsafe", "aws_xray_sdk", "wrapt"} <= tops
    assert not tops & set(RUNTIME_PROVIDED.values())
    assert "python/shardsafe/__init__.py" in names
