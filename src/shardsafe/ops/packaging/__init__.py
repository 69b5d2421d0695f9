"""Build Lambda zips: a function's (its handler, its requirements, shardsafe) or a layer of shardsafe.

The one zip builder of the project: ``shardsafe package`` and ``make package`` run
:func:`build_function_zip`, ``make layer`` and ``shardsafe package --layer`` :func:`build_layer_zip`;
the demo, the benchmarks and the end-to-end tests add their own entry points to a zip with
:func:`add_to_zip`. Every zip is reproducible: the same inputs give the same bytes (entries sorted,
dated 1980-01-01, mode 0644, no ``__pycache__``, no install bookkeeping). Dependencies are manylinux
wheels for the Lambda runtime and architecture, resolved and installed by uv with hashes; what the
runtime provides (:data:`RUNTIME_PROVIDED`) is left out, since bundling it would shadow the runtime's
copies. A zip over Lambda's size limits, a handler that does not import from the zip, or a dependency
with no wheel for the platform is a :class:`PackagingError` that says which and what to do.

    from shardsafe.ops.packaging import LambdaRuntime, build_function_zip

    built = build_function_zip(Path("build/function.zip"), source=Path("app.py"),
                               requirements=Path("requirements.txt"), target=LambdaRuntime("python3.13", "arm64"))
    print(built.sha256)
"""

from __future__ import annotations

from pathlib import Path

from shardsafe.ops.packaging.build import Built, build_function_zip, build_layer_zip
from shardsafe.ops.packaging.dependencies import SHARDSAFE_EXTRAS, find_uv
from shardsafe.ops.packaging.errors import PackagingError
from shardsafe.ops.packaging.limits import LIMITS, SizeLimits
from shardsafe.ops.packaging.runtimes import (
    PLATFORMS,
    RUNTIME_PROVIDED,
    LambdaRuntime,
    lambda_zip_name,
    python_version,
)
from shardsafe.ops.packaging.zipfiles import ZipContent, add_to_zip, reproducible_zip, write_zip

__all__ = [
    "LIMITS",
    "PLATFORMS",
    "RUNTIME_PROVIDED",
    "SHARDSAFE_EXTRAS",
    "Built",
    "LambdaRuntime",
    "PackagingError",
    "SizeLimits",
    "ZipContent",
    "add_to_zip",
    "build_function_zip",
    "build_lambda_zip",
    "build_layer_zip",
    "find_uv",
    "lambda_zip_name",
    "layer_zip_name",
    "python_version",
    "reproducible_zip",
    "write_zip",
]


def layer_zip_name(runtime: str, arch: str) -> str:
    """The file name ``make layer`` gives the layer zip: ``layer-python3.13-x86_64.zip``."""
    return f"layer-{runtime}-{arch}.zip"


def build_lambda_zip(
    output: Path,
    *,
    handler: Path,
    project: Path,
    runtime: str = "python3.13",
    arch: str = "x86_64",
    uv: str | None = None,
) -> Path:
    """This repository's zip, as ``make package`` builds it: ``handler`` (a file, or a folder whose files
    go in, as ``templates/`` does) at the root, shardsafe, and the dependencies of ``shardsafe[tracing]``
    pinned by ``project``'s uv.lock."""
    target = LambdaRuntime(runtime, arch)
    if not handler.exists():
        raise PackagingError(
            f"handler {handler} is not a file or folder: name the handler module (or the folder of them) to ship"
        )
    if not (project / "uv.lock").is_file():
        raise PackagingError(
            f"project {project} has no uv.lock: name the folder of shardsafe's pyproject.toml"
        )
    return build_function_zip(
        output,
        source=handler,
        requirements=project / "uv.lock",
        extras=SHARDSAFE_EXTRAS,
        target=target,
        uv=uv,
    ).path
