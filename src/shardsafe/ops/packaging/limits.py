"""Lambda's size limits on a deployment package, checked on the zip just built.

https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: "50 MB (zipped, when uploaded
directly)" (the Lambda API, and the module's ``filename`` upload) and "250 MB" unzipped, "including
layers and custom runtimes". Lambda counts these in MiB: 52,428,800 and 262,144,000 bytes.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from shardsafe.ops.packaging.errors import PackagingError

__all__ = ["LIMITS", "LIMITS_PAGE", "SizeLimits", "check_size", "unzipped_size"]

LIMITS_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
MIB = 1024 * 1024


@dataclass(frozen=True)
class SizeLimits:
    """The largest zip Lambda takes by direct upload, and the largest its contents (with layers) may be."""

    zipped_bytes: int = 50 * MIB
    unzipped_bytes: int = 250 * MIB


LIMITS = SizeLimits()


def unzipped_size(path: Path) -> int:
    """The bytes the zip's files take once unzipped."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def check_size(path: Path, limits: SizeLimits = LIMITS, *, what: str = "zip") -> tuple[int, int]:
    """(zipped, unzipped) bytes of ``path``; a PackagingError with the numbers if Lambda would refuse it."""
    zipped, unzipped = path.stat().st_size, unzipped_size(path)
    if zipped > limits.zipped_bytes:
        raise PackagingError(
            f"{what} {path} is {_mb(zipped)} zipped, over Lambda's {_mb(limits.zipped_bytes)} limit for a "
            f"zip uploaded directly ({LIMITS_PAGE}): drop dependencies, move them to a layer "
            "(shardsafe package --layer), or upload through S3 (up to the unzipped limit)"
        )
    if unzipped > limits.unzipped_bytes:
        raise PackagingError(
            f"{what} {path} unzips to {_mb(unzipped)}, over Lambda's {_mb(limits.unzipped_bytes)} limit "
            f"for a function's code and all its layers together ({LIMITS_PAGE}): drop dependencies, or "
            "ship the function as a container image (up to 10 GB)"
        )
    return zipped, unzipped


def _mb(size: int) -> str:
    return f"{size / MIB:.1f} MB ({size:,} bytes)"
