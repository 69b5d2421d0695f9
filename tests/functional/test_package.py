"""The Lambda zip: reproducible, without boto3, and self-sufficient on an isolated sys.path like Lambda's."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness import paths

from shardsafe.ops.packaging import (
    RUNTIME_PROVIDED,
    PackagingError,
    add_to_zip,
    build_lambda_zip,
    find_uv,
    reproducible_zip,
)

RUNTIME_VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def build(output: Path) -> Path:
    return build_lambda_zip(
        output,
        handler=paths.TEMPLATE,
        project=paths.REPO,
        runtime=RUNTIME_VERSION,
        arch="x86_64",
        uv=str(paths.UV) if paths.UV.is_file() else None,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        find_uv(str(paths.UV) if paths.UV.is_file() else None)
    except PackagingError as error:
        pytest.skip(str(error))
    out = tmp_path_factory.mktemp("zips")
    return build(out / "first.zip"), build(out / "second.zip")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_building_twice_gives_identical_bytes(built: tuple[Path, Path]) -> None:
    first, second = built
    assert sha256(first) == sha256(second)


def test_zip_has_the_handler_shardsafe_and_xray_but_not_boto3(built: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(built[0]) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    tops = {name.split("/")[0] for name in names}
    assert {"handler.py", "shardsafe", "aws_xray_sdk", "wrapt"} <= tops
    assert not tops & set(RUNTIME_PROVIDED.values())
    assert "shardsafe/py.typed" in names
    # The whole package: the library the handler uses and the operator tools alike.
    assert {"shardsafe/ops/packaging/__init__.py", "shardsafe/ops/cli/__init__.py"} <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", "/RECORD"))]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert any(name.startswith("wrapt/") and name.endswith("-x86_64-linux-gnu.so") for name in names)


def test_handler_runs_from_the_zip_alone_with_tracing(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Like Lambda: sys.path is the zip's contents plus the runtime's boto3/botocore, nothing else."""
    task = tmp_path / "task"
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(task)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for module in RUNTIME_PROVIDED.values():
        for name in (module, f"{module}.py"):
            if (site_packages / name).exists():
                (runtime / name).symlink_to(site_packages / name)
    code = (
        "import json, sys\n"
        f"sys.path[:] = [{str(task)!r}, {str(runtime)!r}] + [p for p in sys.path if 'site-packages' not in p]\n"
        "import base64, handler, shardsafe, aws_xray_sdk\n"
        "event = {'Records': [{'eventSource': 'aws:kinesis', 'eventID': 'shardId-000000000001:1',\n"
        "  'eventSourceARN': 'arn:aws:kinesis:us-east-1:000000000000:stream/s',\n"
        '  \'kinesis\': {\'data\': base64.b64encode(b\'{"EVENT_TIME": "t", "TICKER": "A", "PRICE": 1}\').decode(),\n'
        "   'sequenceNumber': '1', 'partitionKey': 'A'}},\n"
        "  {'eventSource': 'aws:kinesis', 'kinesis': {'data': 'bad!', 'sequenceNumber': '2', 'partitionKey': 'A'}}]}\n"
        "print('RESPONSE', json.dumps(handler.lambda_handler(event, None)))\n"
        "print('FILES', json.dumps([shardsafe.__file__, aws_xray_sdk.__file__]))\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(30)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LAMBDA_TASK_ROOT": str(task),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
        }
        completed = subprocess.run(
            [sys.executable, "-S", "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        datagram, _ = daemon.recvfrom(65_535)
    lines = dict(
        line.split(" ", 1) for line in completed.stdout.splitlines() if line.startswith(("RESPONSE", "FILES"))
    )
    assert json.loads(lines["RESPONSE"]) == {"batchItemFailures": []}
    assert all(path.startswith(str(task)) for path in json.loads(lines["FILES"]))
    assert b'"name":"shardsafe.batch"' in datagram.replace(b" ", b"")
    assert '"reason":"bad_base64"' in completed.stdout


def test_files_added_to_a_zip_keep_it_reproducible_and_win_over_its_entries(tmp_path: Path) -> None:
    base = tmp_path / "base.zip"
    base.write_bytes(reproducible_zip({"handler.py": b"old", "lib/a.py": b"a"}))
    extra = tmp_path / "entry.py"
    extra.write_text("def handler(event, context): ...\n")

    first = add_to_zip(base, {"entry.py": extra, "handler.py": b"new"}, tmp_path / "first.zip")
    second = add_to_zip(base, {"handler.py": b"new", "entry.py": extra}, tmp_path / "second.zip")

    assert sha256(first) == sha256(second)
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["entry.py", "handler.py", "lib/a.py"]
        assert archive.read("handler.py") == b"new"
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"runtime": "py3.13"}, "python3.13, got 'py3.13'"),
        ({"arch": "sparc"}, "got 'sparc'"),
        ({"handler": Path("no/such/handler.py")}, "handler no/such/handler.py is not a file"),
        ({"project": Path("no/such/project")}, "project no/such/project has no uv.lock"),
        ({"uv": "/no/such/uv"}, "uv='/no/such/uv' is not a file"),
    ],
)
def test_bad_input_is_refused_with_the_value_and_the_fix(
    tmp_path: Path, arguments: dict[str, Any], named: str
) -> None:
    settings: dict[str, Any] = {"handler": paths.TEMPLATE, "project": paths.REPO, "uv": None, **arguments}
    if settings["uv"] is None and not arguments.get("uv"):
        settings["uv"] = str(paths.UV) if paths.UV.is_file() else None
    with pytest.raises(PackagingError, match=re.escape(named)):
        build_lambda_zip(tmp_path / "out.zip", **settings)


def test_adding_to_a_zip_that_does_not_exist_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match="make package"):
        add_to_zip(tmp_path / "missing.zip", {}, tmp_path / "out.zip")
