"""Where `make test`'s time goes: each stage timed, then checked against its budget.

``python -m shardsafe_harness.timing start DIR`` (the Makefile runs the file, ``python -P timing.py``)
opens a report (the time and the load average); ``run DIR STAGE -- COMMAND ...`` runs one stage and writes ``DIR/stages/STAGE.json`` (its wall and
CPU seconds, its exit status); ``report DIR`` prints each stage's wall time against its budget
(``[tool.shardsafe.test-budget]`` in pyproject.toml), the slowest tests (from the JUnit files the
pytest stages write to DIR) and the load, and writes ``DIR/summary.json``.

A budget exceeded is a warning, not a failure, unless TEST_BUDGET_STRICT=1: on a shared 2-core
machine the same run takes up to twice as long from one hour to the next, so a failing budget would
fail changes for their neighbours' load. The warning is the last thing `make test` prints.

Standard library only: the Makefile runs it with the bootstrap Python, before the environment exists.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

STRICT_ENV = "TEST_BUDGET_STRICT"
SLOWEST = 12


@dataclass(frozen=True)
class Stage:
    name: str
    wall_s: float
    cpu_s: float
    status: int
    started: float


@dataclass(frozen=True)
class TestTime:
    name: str
    seconds: float


def start(report: Path) -> None:
    report.mkdir(parents=True, exist_ok=True)
    (report / "run.json").write_text(json.dumps({"started": time.time(), "load_at_start": os.getloadavg()}))


def run(report: Path, stage: str, command: list[str]) -> int:
    """Run ``command``, record its wall and CPU time as ``stage``; its exit status."""
    if not command:
        raise SystemExit(f"timing run {stage}: no command after --")
    (report / "stages").mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, clock = time.time(), time.monotonic()
    # close_fds=False: a sub-make keeps the parent make's job server.
    status = subprocess.call(command, close_fds=False)
    wall = time.monotonic() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stage_record = {"name": stage, "wall_s": wall, "cpu_s": cpu, "status": status, "started": started}
    (report / "stages" / f"{stage}.json").write_text(json.dumps(stage_record))
    return status


def stages(report: Path) -> list[Stage]:
    found = [json.loads(path.read_text()) for path in sorted((report / "stages").glob("*.json"))]
    return sorted((Stage(**record) for record in found), key=lambda stage: stage.started)


def test_times(report: Path) -> list[TestTime]:
    """Every test case in the JUnit files in ``report``, slowest first (setup, call and teardown together)."""
    times = []
    for junit in sorted(report.glob("junit-*.xml")):
        for case in ElementTree.parse(junit).iter("testcase"):  # noqa: S314 - pytest's own file, not input
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            times.append(TestTime(name, float(case.get("time") or 0)))
    return sorted(times, key=lambda test: -test.seconds)


def budgets(pyproject: Path) -> dict[str, float]:
    table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("shardsafe", {}).get("test-budget", {})
    return {str(name): float(seconds) for name, seconds in table.items()}


def summarize(report: Path, budget: dict[str, float]) -> dict[str, Any]:
    run_record = json.loads((report / "run.json").read_text()) if (report / "run.json").is_file() else {}
    found = stages(report)
    started = run_record.get("started") or min((stage.started for stage in found), default=time.time())
    rows: list[dict[str, Any]] = [
        {
            "stage": stage.name,
            "wall_s": round(stage.wall_s, 1),
            "cpu_s": round(stage.cpu_s, 1),
            "budget_s": budget.get(stage.name),
            "status": stage.status,
        }
        for stage in found
    ]
    rows.append(
        {
            "stage": "total",
            "wall_s": round(time.time() - started, 1),
            "cpu_s": round(sum(stage.cpu_s for stage in found), 1),
            "budget_s": budget.get("total"),
            "status": max((stage.status for stage in found), default=0),
        }
    )
    return {
        "stages": rows,
        "over_budget": [row["stage"] for row in rows if row["budget_s"] and row["wall_s"] > row["budget_s"]],
        "no_budget": [row["stage"] for row in rows if row["budget_s"] is None],
        "slowest_tests": [
            {"test": t.name, "seconds": round(t.seconds, 2)} for t in test_times(report)[:SLOWEST]
        ],
        "load_at_start": run_record.get("load_at_start"),
        "load_at_end": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def render(summary: dict[str, Any]) -> str:
    lines = ["", "make test: wall time of each stage against its budget ([tool.shardsafe.test-budget])"]
    lines.append(f"  {'stage':<16} {'wall':>8} {'budget':>8} {'cpu':>8}")
    for row in summary["stages"]:
        budget = f"{row['budget_s']:.0f} s" if row["budget_s"] else "none"
        mark = "OVER BUDGET" if row["stage"] in summary["over_budget"] else ""
        failed = "" if row["status"] == 0 else f"failed ({row['status']})"
        lines.append(
            f"  {row['stage']:<16} {row['wall_s']:>6.1f} s {budget:>8} {row['cpu_s']:>6.1f} s  {mark} {failed}".rstrip()
        )
    lines.append(
        "  (stages run side by side: their wall times add up to more than the total; cpu counts the "
        "stage's own processes, not LocalStack's)"
    )
    load = summary["load_at_start"]
    start_load = f"{load[0]:.2f}" if load else "?"
    lines.append(
        f"load average (1 min): {start_load} at the start, {summary['load_at_end'][0]:.2f} at the end, "
        f"on {summary['cpus']} cores"
    )
    lines.append(
        "slowest tests (setup + call + teardown; a module's shared fixture counts in its first test):"
    )
    lines += [f"  {test['seconds']:>7.1f} s  {test['test']}" for test in summary["slowest_tests"]]
    for name in summary["no_budget"]:
        lines.append(
            f"warning: stage {name} has no budget: add one to [tool.shardsafe.test-budget] in pyproject.toml"
        )
    for name in summary["over_budget"]:
        lines.append(
            f"warning: {name} is over its budget: see the slowest tests above, and the report in build/test-report/"
        )
    return "\n".join(lines)


def report(report_dir: Path, pyproject: Path) -> int:
    summary = summarize(report_dir, budgets(pyproject))
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(render(summary))
    strict = os.environ.get(STRICT_ENV, "").strip() not in ("", "0")
    if strict and summary["over_budget"]:
        print(f"{STRICT_ENV}=1: failing because of the budgets above", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m shardsafe_harness.timing start DIR | run DIR STAGE -- COMMAND ... | report DIR [PYPROJECT]"
    if len(argv) >= 2 and argv[0] == "start":
        start(Path(argv[1]))
        return 0
    if len(argv) >= 4 and argv[0] == "run" and argv[3] == "--":
        return run(Path(argv[1]), argv[2], argv[4:])
    if len(argv) in (2, 3) and argv[0] == "report":
        return report(Path(argv[1]), Path(argv[2] if len(argv) == 3 else "pyproject.toml"))
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
