"""Import the handler from a built zip's contents the way Lambda would, before the zip is deployed.

The check runs the runtime's Python (python3.13 for the python3.13 runtime: this interpreter, or one
on PATH) in isolated mode with only the zip's contents, the layer's, and the runtime-provided SDK on
``sys.path``, so a module missing from the zip fails here rather than on the first invocation. Wheels
for another architecture cannot load here: then the check is skipped, and says why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from shardsafe.ops.packaging.errors import PackagingError
from shardsafe.ops.packaging.runtimes import RUNTIME_PROVIDED, LambdaRuntime

__all__ = ["check_handler_imports", "split_handler"]

CHECK_TIMEOUT_S = 120
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}

_CHECK = """
import importlib, json, sys, traceback
sys.path[:0] = json.loads(sys.argv[1])
module_name, function_name = sys.argv[2], sys.argv[3]
try:
    module = importlib.import_module(module_name)
except BaseException as error:
    lines = traceback.format_exception(error)
    print(json.dumps({"error": f"{type(error).__name__}: {error}", "traceback": "".join(lines[-6:])}))
    raise SystemExit(3)
if not callable(getattr(module, function_name, None)):
    print(json.dumps({"missing": function_name, "file": getattr(module, "__file__", None)}))
    raise SystemExit(4)
"""


def split_handler(handler: str) -> tuple[str, str]:
    """``("orders.handler", "lambda_handler")`` for the Lambda handler ``orders.handler.lambda_handler``."""
    module, _, function = handler.replace("/", ".").rpartition(".")
    if not module or not function or not all(part.isidentifier() for part in [*module.split("."), function]):
        raise PackagingError(
            f"handler {handler!r} is not module.function (e.g. handler.lambda_handler, "
            "orders.handler.lambda_handler): name the module and the function Lambda calls"
        )
    return module, function


def check_handler_imports(
    handler: str, roots: Sequence[Path], target: LambdaRuntime, scratch: Path
) -> str | None:
    """Import ``handler`` with only ``roots`` (the zip's contents, a layer's) and the runtime-provided SDK
    on the path; raise a PackagingError naming the module and the exception if it fails. Returns None
    when checked, or why the check could not run here."""
    module, function = split_handler(handler)
    machine = _MACHINES.get(platform.machine().lower())
    if machine != target.arch:
        return f"this machine is {platform.machine()}, the zip is for {target.arch}"
    python = _python(target)
    if python is None:
        return f"no python{target.python_version} here (this is {sys.version.split()[0]}; put it on PATH)"
    path = [str(root) for root in roots] + [str(_runtime_provided(scratch))]
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
    env.setdefault("AWS_DEFAULT_REGION", env["AWS_REGION"])
    env.setdefault("AWS_LAMBDA_FUNCTION_NAME", "shardsafe-package-check")
    env["LAMBDA_TASK_ROOT"] = str(roots[0])
    try:
        completed = subprocess.run(
            [python, "-I", "-S", "-c", _CHECK, json.dumps(path), module, function],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PackagingError(
            f"handler module {module!r} could not be imported to check it: {error}"
        ) from error
    if completed.returncode == 0:
        return None
    report = _last_json(completed.stdout)
    if "missing" in report:
        raise PackagingError(
            f"handler {handler!r}: module {module!r} ({report.get('file')}) has no function {function!r}: "
            "define it, or name the right one with --handler module.function"
        )
    if "error" in report:
        raise PackagingError(
            f"handler module {module!r} does not import from the zip: {report['error']}\n"
            f"{report.get('traceback', '')}"
            "Add what it imports to the requirements (or the source), or fix the module; "
            "--no-import-check skips this check."
        )
    raise PackagingError(
        f"handler module {module!r} could not be checked (exit {completed.returncode}): "
        f"{(completed.stderr or completed.stdout).strip()[-2000:]}"
    )


def _python(target: LambdaRuntime) -> str | None:
    if f"{sys.version_info.major}.{sys.version_info.minor}" == target.python_version:
        return sys.executable
    return shutil.which(f"python{target.python_version}")


def _runtime_provided(scratch: Path) -> Path:
    """A folder with this interpreter's copies of what the runtime provides (boto3 ...), as Lambda has them."""
    folder = scratch / "runtime-provided"
    folder.mkdir(exist_ok=True)
    for module in RUNTIME_PROVIDED.values():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if spec.submodule_search_locations else origin
        link = folder / source.name
        if not link.exists():
            link.symlink_to(source)
    return folder


def _last_json(stdout: str) -> dict[str, str]:
    for line in reversed(stdout.splitlines()):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict):
            return document
    return {}
