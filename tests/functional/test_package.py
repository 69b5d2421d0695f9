"""The Lambda zip: reproducible, without boto3, and self-sufficient on an isolated sys.path like Lambda's."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "package_lambda.py"
RUNTIME_VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def load_packager():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("package_lambda", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    packager = load_packager()
    try:
        uv = packager.find_uv()
    except packager.PackagingError as error:
        pytest.skip(str(error))
    out = tmp_path_factory.mktemp("zips")
    first = packager.build(
        RUNTIME_VERSION, "x86_64", out / "first.zip", uv, REPO / "templates" / "handler.py"
    )
    second = packager.build(
        RUNTIME_VERSION, "x86_64", out / "second.zip", uv, REPO / "templates" / "handler.py"
    )
    return first, second


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
    assert not tops & {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath"}
    assert "shardsafe/py.typed" in names
    assert not [name for name in names if name.startswith("shardsafe/cli/")]
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
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
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
