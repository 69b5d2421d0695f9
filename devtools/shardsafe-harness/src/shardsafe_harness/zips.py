"""shardsafe's Lambda zip for the demo, the end-to-end tests and the benchmarks, built by
``shardsafe.ops.packaging`` (the builder ``make package`` runs) from this repository's files."""

from __future__ import annotations

from pathlib import Path

from shardsafe.ops.packaging import build_lambda_zip
from shardsafe_harness import paths

__all__ = ["package_zip"]


def package_zip(runtime: str = "python3.13", arch: str = "x86_64") -> Path:
    """Build the zip where ``make package`` puts it and return its path (a few seconds; same bytes each time)."""
    return build_lambda_zip(
        paths.lambda_zip(runtime, arch),
        handler=paths.TEMPLATES,
        project=paths.REPO,
        runtime=runtime,
        arch=arch,
        uv=str(paths.UV) if paths.UV.is_file() else None,
    )
