"""`make test`'s budget report (shardsafe_harness.timing): each stage timed, checked against its budget,
the slowest tests named from the JUnit files; over budget warns, or fails with TEST_BUDGET_STRICT=1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from shardsafe_harness import timing

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase classname="tests.e2e.test_pipeline" name="test_every_record_is_accounted_for" time="88.5" />
  <testcase classname="tests.e2e.test_pipeline" name="test_destroy_leaves_nothing_behind" time="30.25" />
  <testcase classname="tests.unit.test_x" name="test_fast" time="0.01" />
</testsuite></testsuites>
"""

PYPROJECT = """
[tool.shardsafe.test-budget]
total = 600
fast = 5
slow = 5
"""


@pytest.fixture
def report(tmp_path: Path) -> Path:
    folder = tmp_path / "report"
    timing.start(folder)
    (folder / "junit-e2e.xml").write_text(JUNIT)
    return folder


def test_a_stage_is_recorded_with_its_wall_time_and_exit_status(report: Path) -> None:
    status = timing.run(report, "failing", [sys.executable, "-c", "import sys; sys.exit(3)"])
    [stage] = timing.stages(report)
    assert (status, stage.name, stage.status) == (3, "failing", 3)
    assert stage.wall_s > 0


def test_the_report_sets_each_stage_against_its_budget_and_names_the_slowest_tests(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(timing.STRICT_ENV, raising=False)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    timing.run(report, "fast", [sys.executable, "-c", "pass"])
    timing.run(report, "slow", [sys.executable, "-c", "import time; time.sleep(0.01)"])
    timing.run(report, "unbudgeted", [sys.executable, "-c", "pass"])
    # slow's record says it took 9 s: over its 5 s budget
    record = report / "stages" / "slow.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "wall_s": 9.0}))

    assert timing.report(report, tmp_path / "pyproject.toml") == 0, "over budget warns, it does not fail"
    printed = capsys.readouterr().out
    summary = json.loads((report / "summary.json").read_text())

    assert summary["over_budget"] == ["slow"]
    assert summary["no_budget"] == ["unbudgeted"]
    assert [row["stage"] for row in summary["stages"]] == ["fast", "slow", "unbudgeted", "total"]
    assert summary["slowest_tests"][0] == {
        "test": "tests/e2e/test_pipeline.py::test_every_record_is_accounted_for",
        "seconds": 88.5,
    }
    assert "warning: slow is over its budget" in printed
    assert "warning: stage unbudgeted has no budget" in printed
    assert "88.5 s  tests/e2e/test_pipeline.py::test_every_record_is_accounted_for" in printed


def test_with_strict_budgets_a_stage_over_its_budget_fails_the_run(
    report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    timing.run(report, "slow", [sys.executable, "-c", "pass"])
    record = report / "stages" / "slow.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "wall_s": 9.0}))
    monkeypatch.setenv(timing.STRICT_ENV, "1")
    assert timing.report(report, tmp_path / "pyproject.toml") == 1


def test_every_stage_of_make_test_has_a_budget() -> None:
    """The stages are the Makefile's TEST_STAGES (a stage added in mk/*.mk included), plus the setup."""
    import subprocess

    from shardsafe_harness import paths

    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "print-test-stages"],
        input="print-test-stages:\n\t@echo $(TEST_STAGES)\n",
        cwd=paths.REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    budgets = timing.budgets(paths.REPO / "pyproject.toml")
    assert "test-e2e" in printed and "tf-test" in printed
    assert [stage for stage in ["setup", "total", *printed] if stage not in budgets] == []
