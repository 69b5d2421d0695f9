"""The suite's own rules: e2e tests are marked by their folder, the ones that apply Terraform start first and
the shared stack's destroy runs last, and only the harness computes repository paths."""

from __future__ import annotations

import re
import subprocess
import sys

from shardsafe_harness import paths

# Left to their owners for now: scripts/tfdocs.py's test (the docs' part of the project).
NOT_YET: set[str] = set()
COMPUTES_A_REPO_PATH = re.compile(r"__file__\)(\.resolve\(\))?\.parents\[")


def collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=paths.REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_every_test_under_tests_e2e_is_marked_e2e_by_its_folder() -> None:
    e2e = collected("tests/e2e", "tests/harness", "-m", "e2e")
    not_e2e = collected("tests/e2e", "tests/harness", "-m", "not e2e")

    assert e2e and all(line.startswith("tests/e2e/") for line in e2e)
    assert not_e2e and not [line for line in not_e2e if line.startswith("tests/e2e/")]


APPLIES_TERRAFORM = re.compile(r"\b(deployed_example|deployed_stack|Terraform|Deployment)\(")


def test_every_e2e_module_that_applies_terraform_is_scheduled_first_and_the_destroy_last() -> None:
    applying = {
        f"tests/e2e/{module.name}"
        for module in (paths.TESTS / "e2e").glob("test_*.py")
        if APPLIES_TERRAFORM.search(module.read_text())
    }
    everything = collected("tests/e2e")
    marked = collected("tests/e2e", "-m", "terraform")
    marked_modules = {line.split("::")[0] for line in marked}

    assert applying and applying <= marked_modules, "mark them: pytestmark = pytest.mark.terraform"
    assert {"tests/e2e/test_pipeline.py", "tests/e2e/test_module_complete.py"} <= marked_modules
    first = everything[: len(marked) - 1]  # the shared stack's destroy is marked too, and last
    assert set(first) <= set(marked), "the tests that apply Terraform come first"
    assert everything[-1] == "tests/e2e/test_pipeline.py::test_destroy_leaves_nothing_behind"


def test_only_the_harness_paths_module_computes_repository_paths() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=paths.REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in tracked
        if name not in NOT_YET and COMPUTES_A_REPO_PATH.search((paths.REPO / name).read_text())
    ]
    assert offenders == [], "import the path from shardsafe_harness.paths instead"


def test_tests_unit_is_laid_out_like_the_package() -> None:
    """Every folder of tests/unit is a subpackage of src/shardsafe, and every test module in it names a
    module or a subpackage there, or the folder's own package (``test_decode_limits.py`` tests
    ``decode.py``'s limits, ``cli/test_cli.py`` the ``cli`` package)."""
    package = paths.SRC / "shardsafe"
    unit = paths.TESTS / "unit"
    strays = []
    for test in sorted(unit.rglob("test_*.py")):
        folder = package / test.parent.relative_to(unit)
        if not folder.is_dir():
            strays.append(f"{test.relative_to(paths.REPO)}: no {folder.relative_to(paths.REPO)}")
            continue
        stem = test.stem.removeprefix("test_")
        names = {path.stem for path in folder.iterdir() if path.suffix == ".py" or path.is_dir()} | {
            folder.name
        }
        if not any(stem == name or stem.startswith(name + "_") for name in names):
            strays.append(
                f"{test.relative_to(paths.REPO)}: names nothing in {folder.relative_to(paths.REPO)}"
            )
    assert strays == []
