"""Where things are in the repository: the one module that computes repository paths.

The harness is installed in editable mode from ``devtools/shardsafe-harness``, so the repository is
the nearest folder above this file that holds shardsafe's ``uv.lock`` and the module's ``main.tf``.
Everything else (scripts, tests, bench, demo) imports its paths from here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BUILD",
    "EXAMPLES",
    "LOCALSTACK_STATE",
    "MODULE_FILES",
    "REPO",
    "SRC",
    "TEMPLATE",
    "TEMPLATES",
    "TERRAFORM_MIRROR_CONFIG",
    "TERRAFORM_PLUGIN_CACHE",
    "TESTS",
    "UV",
    "lambda_zip",
]


def _find_repo(start: Path) -> Path:
    for folder in start.parents:
        if (folder / "uv.lock").is_file() and (folder / "main.tf").is_file():
            return folder
    raise RuntimeError(
        f"no shardsafe repository above {start}: shardsafe_harness runs from a checkout "
        "(install it with `make venv`, not from a wheel)"
    )


REPO = _find_repo(Path(__file__).resolve())
SRC = REPO / "src"
TEMPLATE = REPO / "templates" / "handler.py"
#: Every template: `make package` puts each at the zip's root (handler.py, dynamodb_handler.py).
TEMPLATES = REPO / "templates"
EXAMPLES = REPO / "examples"
#: Runnable snippets the docs show; tests run each as the docs say.
SNIPPETS = REPO / "docs" / "snippets"
#: The Terraform module's own files (every *.tf of the root: one per concern), which each example calls as "../../".
MODULE_FILES = tuple(sorted(REPO.glob("*.tf")))
BUILD = REPO / "build"
UV = REPO / ".tools" / "bin" / "uv"
LOCALSTACK_STATE = REPO / ".localstack"
TESTS = REPO / "tests"
TERRAFORM_MIRROR_CONFIG = REPO / "terraform" / "mirror.tfrc"
TERRAFORM_PLUGIN_CACHE = REPO / ".terraform-cache"


def lambda_zip(runtime: str = "python3.13", arch: str = "x86_64") -> Path:
    """Where ``make package`` writes the zip for ``runtime`` on ``arch``."""
    from shardsafe.ops.packaging import lambda_zip_name

    return BUILD / lambda_zip_name(runtime, arch)
