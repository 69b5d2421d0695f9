"""The Lambda side's import contract, the part import-linter cannot see: nothing heavy at import time.

Each costs a cold start tens to hundreds of milliseconds that a batch without poison, tracing, models
or aggregates never needs, so they are imported inside the functions that use them:

1. every module of ``shardsafe.core``, imported on its own in a fresh interpreter, loads nothing of
   :data:`HEAVY` (boto3, the X-Ray SDK, pydantic, protobuf, the HTTP clients, the operator side);
2. what a handler imports (``import shardsafe`` and its public names, the template's imports) loads
   nothing of :data:`HEAVY` nor of :data:`NOT_ON_THE_CLEAN_PATH` either (asyncio, hashlib, dataclasses,
   typing, logging...): the quarantine, async handlers and the log load those when they are used.

(That ``shardsafe.core`` imports nothing of ``shardsafe.ops`` at all is import-linter's contract, in
pyproject.toml.) ``make lint`` runs this; it exits 1 naming each module and what it loaded.

    python scripts/cold_imports.py [--package shardsafe.core]
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import subprocess
import sys

#: What no module of the Lambda side imports at import time.
HEAVY = (
    "boto3",
    "botocore",
    "s3transfer",
    "aws_xray_sdk",
    "pydantic",
    "pydantic_core",
    "aws_kinesis_agg",
    "google",
    "urllib3",
    "requests",
    "httpx",
    "shardsafe.ops",
)
#: What the handler's own imports do not load either.
NOT_ON_THE_CLEAN_PATH = (
    "asyncio",
    "hashlib",
    "inspect",
    "dataclasses",
    "typing",
    "logging",
    "uuid",
    "ssl",
    "socket",
)
#: What a handler imports: the public API, as the template and the docs use it.
HANDLER_IMPORTS = "shardsafe:StreamProcessor,FieldSchema,Record,RetryableError,KinesisRecord,SqsRecord,DynamoDBRecord,Idempotency"

_PROBE = """
import importlib, json, sys
module, _, names = sys.argv[1].partition(":")
imported = importlib.import_module(module)
for name in filter(None, names.split(",")):
    getattr(imported, name)
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted({name for name in sys.modules for h in heavy if name == h or name.startswith(h + ".")})))
"""


def modules(package: str) -> list[str]:
    root = __import__(package, fromlist=["__path__"])
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        names.append(info.name)
    return sorted(names)


def heavy_loaded(module: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``heavy`` that importing ``module`` (``module:name,name`` imports those names from
    it too) loads, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module, json.dumps(heavy)], capture_output=True, text=True, check=True
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="shardsafe.core")
    args = parser.parse_args(argv)
    failures = 0
    checks = [(module, HEAVY) for module in modules(args.package)]
    checks.append((HANDLER_IMPORTS, HEAVY + NOT_ON_THE_CLEAN_PATH))
    for module, heavy in checks:
        loaded = heavy_loaded(module, heavy)
        if loaded:
            failures += 1
            top = sorted({name if name.startswith("shardsafe.") else name.split(".")[0] for name in loaded})
            print(
                f"{module} loads {', '.join(top)} at import time: import it inside the function that needs it"
            )
    if failures:
        return 1
    print(
        f"cold imports: no module of {args.package} loads {', '.join(HEAVY)} at import time, "
        f"and a handler's imports load none of {', '.join(NOT_ON_THE_CLEAN_PATH)} either"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
