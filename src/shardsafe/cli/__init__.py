"""The ``shardsafe`` command: ``produce`` puts test load on a stream, ``redrive`` recovers failures.

Nothing here imports boto3 until a subcommand runs, so the handler package stays light.
The Python API lives in `shardsafe.cli.produce` and `shardsafe.cli.redrive`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from shardsafe.aws import make_client
from shardsafe.cli import _produce_command, _redrive_command
from shardsafe.cli.errors import CliError

__all__ = ["CliError", "main", "make_client"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shardsafe",
        description="Tools for shardsafe's Kinesis -> Lambda pipelines.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _produce_command.add_parser(commands)
    _redrive_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 incomplete, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    cli_logger = logging.getLogger("shardsafe.cli")
    cli_logger.addHandler(handler)
    cli_logger.setLevel(logging.INFO)
    try:
        status: int = args.run(args)
    except CliError as exc:
        print(f"shardsafe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"shardsafe {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        cli_logger.removeHandler(handler)
    return status
