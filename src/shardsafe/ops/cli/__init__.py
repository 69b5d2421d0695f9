"""The ``shardsafe`` command: argument parsing and output around the operator libraries.

``produce`` puts test load on a stream (`shardsafe.ops.produce`); ``redrive`` recovers what a failure
queue holds (`shardsafe.ops.redrive`); ``package`` builds a function's Lambda zip or shardsafe's layer
(`shardsafe.ops.packaging`). The global options (``--endpoint-url``, ``--region``,
``--profile``, ``--output``, ``--version``) are defined once and go before or after the command.
Nothing here imports boto3 until a subcommand makes a client. ``python -m shardsafe`` runs it too.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from shardsafe.ops.cli import _package_command, _produce_command, _redrive_command
from shardsafe.ops.cli._common import add_global_options
from shardsafe.ops.errors import InputError

__all__ = ["build_parser", "main"]

# The libraries whose log lines (JSON: unrecoverable records, warnings) the command shows on stderr.
LIBRARY_LOGGERS = ("shardsafe.ops.produce", "shardsafe.ops.redrive")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shardsafe",
        description="Tools for shardsafe's Kinesis -> Lambda pipelines.",
    )
    add_global_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (_produce_command, _redrive_command, _package_command):
        add_global_options(command.add_parser(commands), top_level=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 incomplete, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        status: int = args.run(args)
    except InputError as exc:
        print(f"shardsafe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"shardsafe {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    return status
