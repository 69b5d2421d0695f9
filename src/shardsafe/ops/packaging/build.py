"""Build a function zip or a layer zip: the one pipeline behind ``shardsafe package`` and ``make package``.

Every build goes the same way: read the requirements, add shardsafe's own, resolve them for the
target (:mod:`~shardsafe.ops.packaging.dependencies`), install them, put the entries together, write the
zip reproducibly (:mod:`~shardsafe.ops.packaging.zipfiles`), check it against Lambda's size limits
(:mod:`~shardsafe.ops.packaging.limits`) and, for a function, import its handler from it
(:mod:`~shardsafe.ops.packaging.importcheck`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shardsafe
from shardsafe.ops.packaging import dependencies
from shardsafe.ops.packaging.errors import PackagingError
from shardsafe.ops.packaging.importcheck import check_handler_imports, split_handler
from shardsafe.ops.packaging.limits import LIMITS, SizeLimits, check_size
from shardsafe.ops.packaging.runtimes import LambdaRuntime
from shardsafe.ops.packaging.zipfiles import ZipContent, folder_entries, write_zip

__all__ = ["LAYER_PREFIX", "PACKAGE_DIR", "Built", "build_function_zip", "build_layer_zip", "default_handler"]

LOG = logging.getLogger(__name__)
#: The shardsafe package whose files go in the zip: the one running this code.
PACKAGE_DIR = Path(shardsafe.__file__).resolve().parent
#: Where a Python layer's modules go: Lambda puts /opt/python on the path
#: (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths).
LAYER_PREFIX = "python/"


@dataclass(frozen=True)
class Built:
    """A zip that was written: where, its sha256, its size zipped and unzipped, and whether the handler
    was import-checked (``import_check_skipped`` says why not)."""

    path: Path
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    target: LambdaRuntime
    handler: str | None = None
    import_check_skipped: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "zip": str(self.path),
            "sha256": self.sha256,
            "zipped_bytes": self.zipped_bytes,
            "unzipped_bytes": self.unzipped_bytes,
            "runtime": self.target.runtime,
            "arch": self.target.arch,
            "handler": self.handler,
            "import_checked": self.handler is not None and self.import_check_skipped is None,
            "import_check_skipped": self.import_check_skipped,
        }


def default_handler(source: Path) -> str:
    """``<file>.lambda_handler`` for a handler file; ``handler.lambda_handler`` for a folder."""
    return f"{source.stem}.lambda_handler" if source.is_file() else "handler.lambda_handler"


def build_function_zip(
    output: Path,
    *,
    source: Path,
    requirements: Path | None = None,
    extras: Sequence[str] = (),
    handler: str | None = None,
    target: LambdaRuntime | None = None,
    include_shardsafe: bool = True,
    check_import: bool = True,
    limits: SizeLimits = LIMITS,
    uv: str | None = None,
) -> Built:
    """Write a function's zip to ``output``: ``source`` (a handler file, at the zip's root, or a folder,
    whose contents go at the root), the ``requirements`` (requirements file, uv.lock or pylock.toml) and,
    unless ``include_shardsafe`` is False (the function gets it from the layer), shardsafe with its
    runtime dependencies; wheels for ``target``, without what the runtime provides.

        build_function_zip(Path("build/function.zip"), source=Path("src"), requirements=Path("requirements.txt"),
                           handler="orders.handler.lambda_handler", target=LambdaRuntime("python3.13", "arm64"))
    """
    target = target or LambdaRuntime()
    if not source.exists():
        raise PackagingError(f"source {source} does not exist: name your handler file or its folder")
    handler = handler or default_handler(source)
    split_handler(handler)
    uv = dependencies.find_uv(uv)
    with tempfile.TemporaryDirectory(prefix="shardsafe-package-") as scratch_name:
        scratch = Path(scratch_name)
        wanted = []
        if requirements is not None:
            wanted += dependencies.read_requirements(requirements, uv, extras=extras)
        elif extras:
            raise PackagingError(f"extras {list(extras)} need --requirements uv.lock to apply to")
        if include_shardsafe:
            wanted += dependencies.shardsafe_requirements()
        entries = _dependency_entries(wanted, target, uv, scratch, prefix="")
        if include_shardsafe:
            entries.update(folder_entries(PACKAGE_DIR, "shardsafe/"))
        if source.is_file():
            entries[source.name] = source
        else:
            entries.update(folder_entries(source, skip=[output]))
        built = _write(entries, output, target, limits, what="function zip")
        skipped = None
        if check_import:
            roots = [_unzipped(output, scratch / "task")]
            if not include_shardsafe:  # the layer will bring it: stand in for it with this shardsafe
                roots.append(_shardsafe_stand_in(scratch / "layer"))
            skipped = check_handler_imports(handler, roots, target, scratch)
            if skipped:
                LOG.warning("handler %s not import-checked: %s", handler, skipped)
        else:
            skipped = "--no-import-check"
        return dataclasses.replace(built, handler=handler, import_check_skipped=skipped)


def build_layer_zip(
    output: Path,
    *,
    target: LambdaRuntime | None = None,
    requirements: Path | None = None,
    extras: Sequence[str] = (),
    limits: SizeLimits = LIMITS,
    uv: str | None = None,
) -> Built:
    """Write a Lambda layer of shardsafe and its runtime dependencies to ``output``, under ``python/``.
    With ``requirements`` (e.g. a uv.lock whose project depends on shardsafe) the versions are its pins."""
    target = target or LambdaRuntime()
    uv = dependencies.find_uv(uv)
    with tempfile.TemporaryDirectory(prefix="shardsafe-layer-") as scratch_name:
        scratch = Path(scratch_name)
        wanted = []
        if requirements is not None:
            wanted += dependencies.read_requirements(requirements, uv, extras=extras)
        wanted += dependencies.shardsafe_requirements()
        entries = _dependency_entries(wanted, target, uv, scratch, prefix=LAYER_PREFIX)
        entries.update(folder_entries(PACKAGE_DIR, f"{LAYER_PREFIX}shardsafe/"))
        return _write(entries, output, target, limits, what="layer zip")


def _dependency_entries(
    wanted: list[str], target: LambdaRuntime, uv: str, scratch: Path, *, prefix: str
) -> dict[str, ZipContent]:
    if not wanted:
        return {}
    pinned = dependencies.resolve(wanted, target, uv, scratch)
    staging = dependencies.install(pinned, target, uv, scratch / "staging")
    return dict(dependencies.installed_entries(staging, prefix))


def _write(
    entries: dict[str, ZipContent], output: Path, target: LambdaRuntime, limits: SizeLimits, what: str
) -> Built:
    write_zip(entries, output)
    try:
        zipped, unzipped = check_size(output, limits, what=what)
    except PackagingError:
        output.unlink(missing_ok=True)  # a zip Lambda refuses is not left to be deployed
        raise
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return Built(output, digest, zipped, unzipped, target)


def _unzipped(path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    return folder


def _shardsafe_stand_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shardsafe").symlink_to(PACKAGE_DIR)
    return folder
