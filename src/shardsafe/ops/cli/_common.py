"""What the subcommands share: the global options (defined once), argument types, AWS errors, output."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from shardsafe.ops.aws import make_client
from shardsafe.ops.errors import InputError

__all__ = [
    "add_global_options",
    "aws_errors",
    "bounded_int",
    "client_factory",
    "point_in_time",
    "print_json",
]

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OUTPUTS = ("text", "json")


def add_global_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """The options every command takes, given before the command (``shardsafe --region R produce``)
    or after it. Under a command they have no defaults, so one given before it is not reset."""
    defaults: dict[str, Any] = {} if top_level else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="AWS endpoint, e.g. http://127.0.0.1:4566 for LocalStack (default: AWS_ENDPOINT_URL, else AWS)",
        **defaults,
    )
    group.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)", **defaults)
    group.add_argument("--profile", help="AWS profile from ~/.aws/config (default: AWS_PROFILE)", **defaults)
    group.add_argument(
        "--output",
        choices=OUTPUTS,
        help="text for people (default), or json: the command's summary as one JSON object on stdout",
        **(defaults or {"default": "text"}),
    )
    from shardsafe import __version__

    group.add_argument("--version", action="version", version=f"shardsafe {__version__}")


def client_factory(args: argparse.Namespace) -> Callable[[str], Any]:
    return lambda service: make_client(
        service, endpoint_url=args.endpoint_url, region=args.region, profile=args.profile
    )


def print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document), flush=True)


def bounded_int(option: str, minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum, with an error that says what the option wants."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number: give {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}: give {what}")
        return value

    parse.__name__ = option
    return parse


def point_in_time(text: str) -> datetime:
    """An argparse type: ISO 8601 (UTC unless it says otherwise) or an age like 30m, 2h, 7d."""
    if match := _AGO.match(text.strip()):
        amount, unit = float(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: write ISO 8601 (2026-01-31T12:00:00Z) or an age (30m, 2h, 7d)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn the AWS errors a user can fix (no region, no endpoint, no such stream) into `InputError`."""
    from botocore.exceptions import (  # type: ignore[import-untyped]
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except NoRegionError:
        raise InputError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region") from None
    except NoCredentialsError:
        raise InputError(
            "no AWS credentials: configure a profile or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from None
    except ProfileNotFound as exc:
        raise InputError(
            f"no AWS profile {exc.kwargs.get('profile')!r}: check --profile / AWS_PROFILE and ~/.aws/config"
        ) from None
    except EndpointConnectionError as exc:
        raise InputError(
            f"cannot reach {exc.kwargs.get('endpoint_url')}: check --endpoint-url / AWS_ENDPOINT_URL"
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {
            "ResourceNotFoundException",
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        }:
            raise InputError(
                f"{what} not found ({exc.response['Error'].get('Message', code)}): "
                "check the name, --endpoint-url and --region"
            ) from None
        raise InputError(f"{what}: {exc}") from None
    except BotoCoreError as exc:
        raise InputError(f"{what}: {exc}") from None
