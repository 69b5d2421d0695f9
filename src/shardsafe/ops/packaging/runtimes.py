"""What a Lambda zip is built for: a runtime and an architecture, and what that runtime provides."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shardsafe.ops.packaging.errors import PackagingError

__all__ = ["PLATFORMS", "RUNTIMES", "RUNTIME_PROVIDED", "LambdaRuntime", "lambda_zip_name", "python_version"]

#: What AWS's Python runtimes ship besides the standard library: distribution name -> top-level module.
#: Left out of the zip, since bundling it would shadow the runtime's copies; the LocalStack process
#: executor and the cold-start benchmark put the same modules on the function's path, as the runtime does.
RUNTIME_PROVIDED: Mapping[str, str] = MappingProxyType(
    {
        "boto3": "boto3",
        "botocore": "botocore",
        "s3transfer": "s3transfer",
        "jmespath": "jmespath",
        "python-dateutil": "dateutil",
        "six": "six",
        "urllib3": "urllib3",
    }
)
#: Lambda architecture -> the platform uv installs wheels for (manylinux2014 is glibc 2.17; Lambda's
#: Amazon Linux 2023 runtimes have 2.34, so every manylinux wheel up to that loads).
PLATFORMS: Mapping[str, str] = MappingProxyType(
    {"x86_64": "x86_64-manylinux2014", "arm64": "aarch64-manylinux2014"}
)
#: The Lambda runtimes shardsafe supports (the module's `runtime` variable takes the same).
RUNTIMES = ("python3.12", "python3.13")


def python_version(runtime: str) -> str:
    """``3.13`` for the Lambda runtime ``python3.13``."""
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match:
        raise PackagingError(f"runtime must look like python3.13, got {runtime!r}")
    return match.group(1)


def lambda_zip_name(runtime: str, arch: str) -> str:
    """The file name ``make package`` gives the zip: ``lambda-python3.13-x86_64.zip``."""
    return f"lambda-{runtime}-{arch}.zip"


@dataclass(frozen=True)
class LambdaRuntime:
    """A Lambda runtime (python3.12, python3.13) on an architecture (x86_64, arm64); checked when made."""

    runtime: str = "python3.13"
    arch: str = "x86_64"

    def __post_init__(self) -> None:
        python_version(self.runtime)
        if self.runtime not in RUNTIMES:
            raise PackagingError(
                f"runtime must be one of {', '.join(RUNTIMES)} (the module's runtimes), got {self.runtime!r}"
            )
        if self.arch not in PLATFORMS:
            raise PackagingError(f"arch must be one of {sorted(PLATFORMS)}, got {self.arch!r}")

    @property
    def python_version(self) -> str:
        return python_version(self.runtime)

    @property
    def platform(self) -> str:
        """The platform uv installs wheels for, e.g. ``x86_64-manylinux2014``."""
        return PLATFORMS[self.arch]

    def __str__(self) -> str:
        return f"{self.runtime} on {self.arch}"
