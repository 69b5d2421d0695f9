"""AWS plumbing for the tools, the harness, the demo, the benchmarks and the tests: the one client
factory, stream references and error codes.

boto3 is imported inside `make_client` only, so importing the CLI (or the handler package)
never pays for it.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["error_code", "make_client", "stream_name", "stream_ref"]


def make_client(
    service: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> Any:
    """A boto3 client; endpoint, region and credentials default to the usual AWS environment variables
    (AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE). ``credentials`` is an access key
    id and secret, for LocalStack (which takes any) when the environment may have none.

    Throttling on whole calls is retried by botocore's standard mode; partially failed
    PutRecords entries are retried by `shardsafe.ops.produce.putter`.
    """
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    config = Config(retries={"mode": "standard", "max_attempts": 10})
    # botocore reads AWS_DEFAULT_REGION but not AWS_REGION, which the other SDKs and the CLI honour.
    keys = (
        {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]} if credentials else {}
    )
    session = boto3.session.Session(
        region_name=region or os.environ.get("AWS_REGION") or None, profile_name=profile, **keys
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


def stream_ref(stream: str) -> dict[str, str]:
    """The Kinesis request parameter naming a stream given by name or by ARN."""
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


def stream_name(stream: str) -> str:
    """The stream's name, from a name or an ARN (arn:aws:kinesis:region:account:stream/NAME)."""
    return stream.rsplit("/", 1)[-1] if stream.startswith("arn:") else stream


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None (no botocore import needed)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None
