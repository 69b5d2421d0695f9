"""Cold start: what importing a handler, and its first batch, cost a fresh interpreter.

Each sample is a new ``python`` process that times ``import`` of the contender with
``time.perf_counter``, then reads a 10-record event from a file (not timed) and times the first
batch, which is where shardsafe pays for what it loads lazily (logging, and aws-xray-sdk when
the invocation is traced). Every sample sees the environment of a Lambda execution environment
(``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``, ``_X_AMZN_TRACE_ID``); "tracing on" marks the
trace header ``Sampled=1``, which is what makes shardsafe open an X-Ray subsegment. The samples of
all contenders are interleaved and the medians reported. One more run per contender with
``python -X importtime`` gives the modules that cost the most.

shardsafe's handler is ``handler.py`` from the Lambda zip (``make package``) when there is one,
unzipped as Lambda would; otherwise ``templates/handler.py`` with ``src/`` on the path.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import events
from bench.child import RESULT_MARK, run_python

REPO = Path(__file__).resolve().parents[1]
IMPORT_MARK = "BENCH-IMPORT\n"  # written to stderr, so that -X importtime lines can be told apart by phase
BATCH_MARK = "BENCH-FIRST-BATCH\n"

#: name -> (import statement, handler expression or None when there is no batch to run)
CONTENDERS: dict[str, tuple[str, str | None]] = {
    "bare": ("import base64, json", "bare_handler"),
    "shardsafe (tracing off)": ("import handler", "handler.lambda_handler"),
    "shardsafe (tracing on)": ("import handler", "handler.lambda_handler"),
    "powertools batch": (
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response",
        "powertools_handler",
    ),
    "aws_xray_sdk.core": ("from aws_xray_sdk.core import xray_recorder", None),
}
TRACED = {"shardsafe (tracing on)"}

# The child: time the import, load the event (not timed), time the first batch, report one JSON line.
CHILD = """
import sys, time
sys.stderr.write({start_mark!r})
sys.stderr.flush()
started = time.perf_counter()
{import_statement}
imported = time.perf_counter()
sys.stderr.write({batch_mark!r})
sys.stderr.flush()
modules = len(sys.modules)
import json
with open(sys.argv[1]) as file:
    event = json.load(file)

class Context:
    function_name = "shardsafe-bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:shardsafe-bench"
    memory_limit_in_mb = 1024
    def get_remaining_time_in_millis(self):
        return 60000

def bare_handler(event, context):
    for record in event["Records"]:
        json.loads(base64.b64decode(record["kinesis"]["data"]))
    return {{"batchItemFailures": []}}

def powertools_handler(event, context):
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)
    def record_handler(record):
        return record.kinesis.data_as_json()
    return process_partial_response(event, record_handler, processor, context)

handle = {handler_expression}
batch_started = time.perf_counter()
response = handle(event, Context()) if handle else None
finished = time.perf_counter()
print({mark!r} + json.dumps({{
    "import_ms": (imported - started) * 1000,
    "first_batch_ms": (finished - batch_started) * 1000 if handle else None,
    "modules_after_import": modules,
    "failures": len(response["batchItemFailures"]) if handle else 0,
    "traced": "aws_xray_sdk.core" in sys.modules,
    "shardsafe_from": getattr(sys.modules.get("shardsafe"), "__file__", None),
}}))
"""


def lambda_root(zip_path: Path | None, workdir: Path) -> tuple[Path, str]:
    """A folder laid out as Lambda's /var/task, and a line saying where it came from."""
    root = workdir / "task"
    shutil.rmtree(root, ignore_errors=True)
    if zip_path is not None and zip_path.is_file():
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        return root, f"Lambda zip {zip_path.name}"
    root.mkdir(parents=True)
    shutil.copy(REPO / "templates" / "handler.py", root / "handler.py")
    shutil.copytree(REPO / "src" / "shardsafe", root / "shardsafe", ignore=shutil.ignore_patterns("cli"))
    return root, "templates/handler.py and src/shardsafe (no zip given)"


def lambda_environment(root: Path, *, traced: bool) -> dict[str, str]:
    """The variables a Lambda execution environment has; the trace header is sampled only if ``traced``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SHARDSAFE_", "AWS_XRAY"))}
    env.update(
        {
            "PYTHONPATH": str(root),
            "PYTHONDONTWRITEBYTECODE": "",
            "LAMBDA_TASK_ROOT": str(root),
            "AWS_LAMBDA_FUNCTION_NAME": "shardsafe-bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "us-east-1",
            "_HANDLER": "handler.lambda_handler",
            "_X_AMZN_TRACE_ID": "Root=1-65a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;"
            + ("Sampled=1" if traced else "Sampled=0"),
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE")  # compiled .pyc are allowed, as Lambda's are
    return env


def _child_code(name: str) -> str:
    import_statement, handler_expression = CONTENDERS[name]
    return CHILD.format(
        import_statement=import_statement,
        handler_expression=handler_expression or "None",
        mark=RESULT_MARK,
        start_mark=IMPORT_MARK,
        batch_mark=BATCH_MARK,
    )


def run_once(name: str, root: Path, event_file: Path, *, importtime: bool = False) -> dict[str, Any]:
    """One fresh interpreter for one contender; with ``importtime``, also its ``-X importtime`` report."""
    result, stderr = run_python(
        _child_code(name),
        [str(event_file)],
        what=f"cold start of {name!r}",
        timeout_s=120,
        interpreter_flags=("-X", "importtime") if importtime else (),
        env=lambda_environment(root, traced=name in TRACED),
        cwd=root,
    )
    if importtime:
        result["importtime"] = parse_importtime(stderr)
    return result


def parse_importtime(stderr: str, top: int = 6) -> dict[str, list[dict[str, Any]]]:
    """The modules that cost the most (own time) while importing, and while running the first batch."""
    phases: dict[str, list[dict[str, Any]]] = {"startup": [], "import": [], "first_batch": []}
    phase = "startup"
    for line in stderr.splitlines(keepends=True):
        if line == IMPORT_MARK:
            phase = "import"
        elif line == BATCH_MARK:
            phase = "first_batch"
        elif line.startswith("import time:") and "self [us]" not in line:
            own, cumulative, name = line.removeprefix("import time:").split("|")
            phases[phase].append(
                {"module": name.strip(), "self_us": int(own), "cumulative_us": int(cumulative)}
            )
    del phases["startup"]  # the interpreter's own start, the same for every contender
    for rows in phases.values():
        rows.sort(key=lambda row: row["self_us"], reverse=True)
        del rows[top:]
    return phases


def measure(
    samples: int = 15,
    *,
    zip_path: Path | None = None,
    workdir: Path | None = None,
    names: Sequence[str] = tuple(CONTENDERS),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Median import and first-batch times of each contender over ``samples`` fresh interpreters."""
    with tempfile.TemporaryDirectory(prefix="shardsafe-cold-") as scratch:
        work = workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        root, origin = lambda_root(zip_path, work)
        event_file = work / "event.json"
        event_file.write_text(json.dumps(events.kinesis_event(10, 1024)))
        for name in names:  # the first run writes the .pyc files, as a deployed zip would have them
            run_once(name, root, event_file)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for sample in range(samples):
            shift = sample % len(names)
            for name in [*names[shift:], *names[:shift]]:
                runs[name].append(run_once(name, root, event_file))
        breakdown = {name: run_once(name, root, event_file, importtime=True)["importtime"] for name in names}
    results: dict[str, Any] = {}
    for name in names:
        imports = [run["import_ms"] for run in runs[name]]
        batches = [run["first_batch_ms"] for run in runs[name] if run["first_batch_ms"] is not None]
        if any(run["failures"] for run in runs[name]):
            raise RuntimeError(
                f"{name}: the first batch reported failures; the cold start would not be typical"
            )
        results[name] = {
            "import_ms": statistics.median(imports),
            "first_batch_ms": statistics.median(batches) if batches else None,
            "cold_ms": statistics.median(
                [run["import_ms"] + (run["first_batch_ms"] or 0.0) for run in runs[name]]
            ),
            "import_ms_samples": imports,
            "modules_after_import": runs[name][0]["modules_after_import"],
            "xray_loaded": runs[name][0]["traced"],
            "heaviest_modules": breakdown[name],
        }
        if progress is not None:
            first = results[name]["first_batch_ms"]
            progress(
                f"{name:<24} import {results[name]['import_ms']:7.1f} ms"
                + (f", first batch {first:6.1f} ms" if first is not None else "")
            )
    loaded_from = next(
        (run["shardsafe_from"] for name in names for run in runs[name][:1] if run["shardsafe_from"]), None
    )
    return {
        "samples": samples,
        "handler": origin,
        "shardsafe_loaded_from": loaded_from,
        "contenders": results,
    }
