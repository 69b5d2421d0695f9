"""Cold start: what importing a handler, its first batch, and its first poison record cost a fresh interpreter.

Each sample is a new ``python`` process that times ``import`` of the contender with
``time.perf_counter``, then reads a 10-record event from a file (not timed) and times the first
batch, which is where shardsafe pays for what it loads lazily (logging, and aws-xray-sdk when
the invocation is traced). Every sample sees the environment of a Lambda execution environment
(``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``, ``_X_AMZN_TRACE_ID``); "tracing on" marks the
trace header ``Sampled=1``, which is what makes shardsafe open an X-Ray subsegment. The samples of
all contenders are interleaved and the medians reported. One more run per contender with
``python -X importtime`` gives the modules that cost the most.

The first poison record of an execution environment costs more than the next ones: shardsafe
imports boto3, makes its SQS client and loads its envelope code only then, so that batches without
poison never pay for them. :func:`run_first_poison` times it in fresh interpreters of its own, with
only the packages Lambda's runtime provides on the path: shardsafe's handler runs a clean batch
twice (the first batch is the table's), then a batch of 10 records with one poison cold, from the
processor's first import of ``shardsafe.core.quarantine.sqs``, then the same batch 5 times warm. The figure
is the cold time less the median warm one. The client is shardsafe's own (``_make_client``, wrapped
only to time ``import boto3`` apart); botocore serialises, signs and parses its first
``SendMessageBatch`` as in Lambda, and only the HTTP exchange is answered in memory, by a
``before-send`` hook registered once the client is made: network time is not shardsafe's cost.

shardsafe's handler is ``handler.py`` from the Lambda zip (``make package``) when there is one,
unzipped as Lambda would; otherwise ``templates/handler.py`` with ``src/`` on the path. The floor
is ``bench/functions/floor_handler.py``, copied beside it. With a pydantic model given, shardsafe is
``bench/functions/model_handler.py`` (``model=Tick``) and Powertools its batch utility with its parser
models (``powertools_model_handler.py``), both on ``tick_model.py``; pydantic comes from this
environment (the zip does not bundle it), as the user's own dependency would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shardsafe_harness import paths

from bench import events
from bench.child import RESULT_MARK, run_python
from shardsafe.ops.packaging import RUNTIME_PROVIDED

FUNCTIONS = Path(__file__).resolve().parent / "functions"
FLOOR_HANDLER = FUNCTIONS / "floor_handler.py"
#: The handlers with a pydantic model (bench/model_cost.py's), and the model they share.
MODEL_FILES = ("tick_model.py", "model_handler.py", "powertools_model_handler.py")
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/000000000000/bench-quarantine"  # never sent to
WARM_POISON_BATCHES = 5
IMPORT_MARK = "BENCH-IMPORT\n"  # written to stderr, so that -X importtime lines can be told apart by phase
BATCH_MARK = "BENCH-FIRST-BATCH\n"

#: name -> (import statement, handler expression or None when there is no batch to run)
CONTENDERS: dict[str, tuple[str, str | None]] = {
    "floor": ("import floor_handler", "floor_handler.lambda_handler"),
    "shardsafe (tracing off)": ("import handler", "handler.lambda_handler"),
    "shardsafe (tracing on)": ("import handler", "handler.lambda_handler"),
    "powertools batch": (
        "from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response",
        "powertools_handler",
    ),
    # With a pydantic model given (pydantic is the user's import: it counts in both).
    "shardsafe + pydantic model": ("import model_handler", "model_handler.lambda_handler"),
    "powertools parser + pydantic model": (
        "import powertools_model_handler",
        "powertools_model_handler.lambda_handler",
    ),
    "aws_xray_sdk.core": ("from aws_xray_sdk.core import xray_recorder", None),
}
TRACED = {"shardsafe (tracing on)"}

# Lambda's context object, as much of it as the handlers read.
CONTEXT_CLASS = """
class Context:
    function_name = "shardsafe-bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:shardsafe-bench"
    memory_limit_in_mb = 1024
    def get_remaining_time_in_millis(self):
        return 60000
"""

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
{context_class}
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

# The first-poison child: shardsafe's handler warm on clean batches, then its first poison batch
# timed (boto3, the client and the envelope code load here), then the same batch warm.
POISON_CHILD = """
import json, sys, time
import handler
with open(sys.argv[1]) as file:
    clean = json.load(file)
with open(sys.argv[2]) as file:
    poison = json.load(file)
{context_class}
for _ in range(2):  # the first batch's lazy imports are the cold start table's, not the poison record's
    handler.lambda_handler(clean, Context())
if "boto3" in sys.modules:
    raise RuntimeError("boto3 was loaded before the first poison record: there is no first use to time")

sent = []
timings = {{}}

class Body:
    def __init__(self, data):
        self.data = data
    def stream(self, **kwargs):
        yield self.data

def answer_in_memory(request, **kwargs):
    # What SQS answers to SendMessageBatch, returned in place of the HTTP round trip.
    from botocore.awsrequest import AWSResponse
    entries = json.loads(request.body)["Entries"]
    sent.append(len(entries))
    answer = {{"Successful": [{{"Id": e["Id"], "MessageId": e["Id"], "MD5OfMessageBody": "0" * 32}}
                             for e in entries], "Failed": []}}
    headers = {{"Content-Type": "application/x-amz-json-1.0"}}
    return AWSResponse(request.url, 200, headers, Body(json.dumps(answer).encode()))

def timed_make_client(*args, **kwargs):
    started = time.perf_counter()
    try:
        import boto3
        imported = time.perf_counter()
        client = make_client(*args, **kwargs)
    except Exception as error:  # shardsafe logs it and goes on; the parent says why nothing was sent
        timings["client_error"] = repr(error)
        raise
    made = time.perf_counter()
    client.meta.events.register("before-send.sqs.SendMessageBatch", answer_in_memory)
    timings.update(import_boto3_ms=(imported - started) * 1000, client_ms=(made - imported) * 1000)
    return client

sys.stderr.write({batch_mark!r})
sys.stderr.flush()
started = time.perf_counter()
from shardsafe.core.quarantine.sqs import SqsQuarantine  # what the processor imports at its first poison record
make_client = getattr(SqsQuarantine, "_make_client", None)
if make_client is None:
    raise RuntimeError("SqsQuarantine._make_client is gone: bench/cold_start.py wraps it to time the client")
SqsQuarantine._make_client = timed_make_client
response = handler.lambda_handler(poison, Context())
cold_ms = (time.perf_counter() - started) * 1000
warm_ms = []
for _ in range({warm_batches}):
    started = time.perf_counter()
    handler.lambda_handler(poison, Context())
    warm_ms.append((time.perf_counter() - started) * 1000)
print({mark!r} + json.dumps({{
    "cold_batch_ms": cold_ms,
    "warm_batch_ms": sorted(warm_ms)[len(warm_ms) // 2],
    "sent": sent,
    "failures": len(response["batchItemFailures"]),
    "shardsafe_from": getattr(sys.modules.get("shardsafe"), "__file__", None),
    **timings,
}}))
"""


def lambda_root(zip_path: Path | None, workdir: Path) -> tuple[Path, str]:
    """A folder laid out as Lambda's /var/task (with the floor beside), and a line saying where it came from."""
    root = workdir / "task"
    shutil.rmtree(root, ignore_errors=True)
    if zip_path is not None and zip_path.is_file():
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
        origin = f"Lambda zip {zip_path.name}"
    else:
        root.mkdir(parents=True)
        shutil.copy(paths.TEMPLATE, root / "handler.py")
        shutil.copytree(
            paths.SRC / "shardsafe", root / "shardsafe", ignore=shutil.ignore_patterns("__pycache__")
        )
        origin = "templates/handler.py and src/shardsafe (no zip given)"
    shutil.copy(FLOOR_HANDLER, root / FLOOR_HANDLER.name)
    for name in MODEL_FILES:
        shutil.copy(FUNCTIONS / name, root / name)
    return root, origin


def lambda_runtime(workdir: Path) -> Path:
    """A folder standing for Lambda's /var/runtime: links to this environment's copies of RUNTIME_PROVIDED."""
    runtime = workdir / "runtime"
    shutil.rmtree(runtime, ignore_errors=True)
    runtime.mkdir(parents=True)
    for name in RUNTIME_PROVIDED.values():
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed: run `make venv`")
        origin = Path(spec.origin)
        source = origin.parent if spec.submodule_search_locations else origin
        (runtime / source.name).symlink_to(source)
    return runtime


def lambda_environment(root: Path, *, traced: bool) -> dict[str, str]:
    """The variables a Lambda execution environment has; the trace header is sampled only if ``traced``.

    No AWS setting of this machine's is passed on (profiles, endpoints, config files), so that a
    boto3 client is made as Lambda makes it: region and credentials from the environment.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SHARDSAFE_", "AWS_"))}
    env.update(
        {
            "PYTHONPATH": str(root),
            "PYTHONDONTWRITEBYTECODE": "",
            "LAMBDA_TASK_ROOT": str(root),
            "AWS_LAMBDA_FUNCTION_NAME": "shardsafe-bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
            "AWS_SECRET_ACCESS_KEY": "bench",  # never sent anywhere: SQS is answered in memory
            "AWS_SESSION_TOKEN": "bench",
            "AWS_CONFIG_FILE": str(root / "no-aws-config"),  # Lambda has no ~/.aws
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
            "SHARDSAFE_QUARANTINE_QUEUE_URL": QUEUE_URL,
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
        context_class=CONTEXT_CLASS,
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


def run_first_poison(
    root: Path, runtime: Path, clean_file: Path, poison_file: Path, *, importtime: bool = False
) -> dict[str, Any]:
    """One fresh interpreter timing shardsafe's first poison batch, cold and then warm (see the module).

    It runs without ``site`` (``-S``), on the function's folder and ``runtime`` alone: this
    environment's other packages (awscrt, pyOpenSSL) would change what ``import boto3`` loads.
    """
    code = POISON_CHILD.format(
        context_class=CONTEXT_CLASS, batch_mark=BATCH_MARK, mark=RESULT_MARK, warm_batches=WARM_POISON_BATCHES
    )
    env = lambda_environment(root, traced=False)
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(runtime)])
    result, stderr = run_python(
        code,
        [str(clean_file), str(poison_file)],
        what="first poison record of a cold environment",
        timeout_s=120,
        interpreter_flags=("-S", "-X", "importtime") if importtime else ("-S",),
        env=env,
        cwd=root,
    )
    if result["sent"] != [1] * (1 + WARM_POISON_BATCHES):
        raise RuntimeError(
            f"SendMessageBatch calls with {result['sent']} entries, expected one call with the poison record "
            f"per batch (client error: {result.get('client_error')}): the figure would not be one send's"
        )
    if importtime:
        result["importtime"] = parse_importtime(stderr)["first_batch"]
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
    """Median import and first-batch times of each contender, and the first poison record's cost,
    over ``samples`` fresh interpreters each."""
    with tempfile.TemporaryDirectory(prefix="shardsafe-cold-") as scratch:
        work = workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        root, origin = lambda_root(zip_path, work)
        runtime = lambda_runtime(work)
        event_file = work / "event.json"
        event_file.write_text(json.dumps(events.kinesis_event(10, 1024)))
        poison_file = work / "poison.json"
        poison_file.write_text(json.dumps(events.kinesis_event(10, 1024, 0.1)))
        for name in names:  # the first run writes the .pyc files, as a deployed zip would have them
            run_once(name, root, event_file)
        run_first_poison(root, runtime, event_file, poison_file)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        poison_runs = []
        for sample in range(samples):
            shift = sample % len(names)
            for name in [*names[shift:], *names[:shift]]:
                runs[name].append(run_once(name, root, event_file))
            poison_runs.append(run_first_poison(root, runtime, event_file, poison_file))
        breakdown = {name: run_once(name, root, event_file, importtime=True)["importtime"] for name in names}
        poison_breakdown = run_first_poison(root, runtime, event_file, poison_file, importtime=True)[
            "importtime"
        ]
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
    first_poison = _first_poison_summary(poison_runs, poison_breakdown)
    if progress is not None:
        progress(first_poison_line(first_poison))
    return {
        "samples": samples,
        "handler": origin,
        "shardsafe_loaded_from": loaded_from,
        "contenders": results,
        "first_poison": first_poison,
    }


def _first_poison_summary(runs: list[dict[str, Any]], heaviest: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the first poison runs; ``rest_ms`` is what the medians leave, so that the parts add up."""
    extra = [run["cold_batch_ms"] - run["warm_batch_ms"] for run in runs]
    summary: dict[str, Any] = {
        "ms": statistics.median(extra),
        "import_boto3_ms": statistics.median(run["import_boto3_ms"] for run in runs),
        "client_ms": statistics.median(run["client_ms"] for run in runs),
        "cold_batch_ms": statistics.median(run["cold_batch_ms"] for run in runs),
        "warm_batch_ms": statistics.median(run["warm_batch_ms"] for run in runs),
        "batch": "10 records of 1 KiB, 1 of them poison",
        "ms_samples": extra,
        "heaviest_modules": heaviest,
    }
    summary["rest_ms"] = summary["ms"] - summary["import_boto3_ms"] - summary["client_ms"]
    return summary


def first_poison_line(first_poison: dict[str, Any]) -> str:
    """The figure in one line: the first poison record's cost and what it is made of."""
    return (
        f"First poison record in a cold environment: {first_poison['ms']:.1f} ms "
        f"(import boto3 {first_poison['import_boto3_ms']:.1f} ms + client {first_poison['client_ms']:.1f} ms "
        f"+ first send and envelope code {first_poison['rest_ms']:.1f} ms)"
    )
