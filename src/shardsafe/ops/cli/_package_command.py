"""``shardsafe package``: argument parsing and output around `shardsafe.ops.packaging`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shardsafe.ops.cli._common import print_json
from shardsafe.ops.errors import InputError

__all__ = ["add_parser", "run"]

EXAMPLES = """\
examples:
  shardsafe package app.py --requirements requirements.txt --zip build/function.zip
  shardsafe package src --handler orders.handler.lambda_handler --requirements uv.lock --arch arm64
  shardsafe package --layer --zip build/shardsafe-layer.zip
  shardsafe package src --handler orders.handler.lambda_handler --thin --zip build/function-thin.zip

The same inputs give the same bytes. Dependencies are manylinux wheels for the runtime and
architecture (resolved by uv: UV_INDEX_URL, UV_FIND_LINKS apply); boto3, botocore, s3transfer,
jmespath, python-dateutil, six and urllib3 are left out: the Lambda runtime provides them.
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    from shardsafe.ops.packaging.runtimes import PLATFORMS, RUNTIMES

    parser: argparse.ArgumentParser = commands.add_parser(
        "package",
        help="build a reproducible Lambda zip of your handler with shardsafe, or a layer of shardsafe",
        description=(
            "Build a function's zip: your handler file (or a folder's contents) at the root, your\n"
            "requirements and shardsafe, as wheels for the Lambda runtime and architecture. Or, with\n"
            "--layer, a layer of shardsafe and its dependencies (under python/), and with --thin a\n"
            "function zip without them, for a function that has the layer."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        metavar="SOURCE",
        help="your handler file (goes in as itself) or folder (its contents go at the zip's root)",
    )
    parser.add_argument(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="the Lambda handler, imported from the zip to check it "
        "(default: <file>.lambda_handler, or handler.lambda_handler for a folder)",
    )
    parser.add_argument(
        "-r",
        "--requirements",
        type=Path,
        metavar="FILE",
        help="your dependencies: a requirements file (.txt, .in), a uv.lock or a pylock.toml",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="with a uv.lock: an extra of its project to include (repeatable)",
    )
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default="python3.13", help="Lambda runtime (default python3.13)"
    )
    parser.add_argument(
        "--arch", choices=sorted(PLATFORMS), default="x86_64", help="Lambda architecture (default x86_64)"
    )
    parser.add_argument(
        "--zip",
        type=Path,
        metavar="PATH",
        help="the zip to write (default build/lambda-<runtime>-<arch>.zip, or build/layer-... with --layer)",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--layer", action="store_true", help="build a Lambda layer of shardsafe and its dependencies instead"
    )
    kind.add_argument(
        "--thin",
        action="store_true",
        help="leave shardsafe and its dependencies out: the function gets them from the layer",
    )
    parser.add_argument(
        "--no-import-check",
        dest="check_import",
        action="store_false",
        help="do not import the handler from the built zip (it runs the module's top-level code)",
    )
    parser.add_argument("--uv", metavar="PATH", help="the uv executable (default $UV, then uv on PATH)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from shardsafe.ops.packaging import (
        LambdaRuntime,
        build_function_zip,
        build_layer_zip,
        lambda_zip_name,
        layer_zip_name,
    )

    target = LambdaRuntime(args.runtime, args.arch)
    if args.layer:
        if args.source is not None or args.handler:
            raise InputError(
                f"--layer builds shardsafe's layer alone: leave out SOURCE ({args.source}) and --handler"
            )
        output = args.zip or Path("build") / layer_zip_name(args.runtime, args.arch)
        built = build_layer_zip(
            output, target=target, requirements=args.requirements, extras=args.extra, uv=args.uv
        )
    else:
        if args.source is None:
            raise InputError("name your handler file or folder (SOURCE), or give --layer to build the layer")
        output = args.zip or Path("build") / lambda_zip_name(args.runtime, args.arch)
        built = build_function_zip(
            output,
            source=args.source,
            requirements=args.requirements,
            extras=args.extra,
            handler=args.handler,
            target=target,
            include_shardsafe=not args.thin,
            check_import=args.check_import,
            uv=args.uv,
        )
    if args.output == "json":
        print_json(built.to_json())
        return 0
    what = "layer" if args.layer else "thin function zip" if args.thin else "function zip"
    print(
        f"{built.path}: {what} for {target}, {built.zipped_bytes:,} bytes "
        f"({built.unzipped_bytes:,} unzipped), sha256 {built.sha256}"
    )
    if built.handler is not None:
        if built.import_check_skipped is None:
            print(f"handler {built.handler} imports from the zip")
        else:
            print(
                f"handler {built.handler} not import-checked: {built.import_check_skipped}", file=sys.stderr
            )
    return 0
