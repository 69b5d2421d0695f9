"""Typed handlers type-check under mypy --strict: the record classes and StreamProcessor are generic.

docs/snippets/typed_handlers.py (handlers typed on DynamoDBRecord, on KinesisRecord[Tick] with model=Tick,
a batch handler on list[SqsRecord]) must pass; the same file with a mistake a type checker should catch
must fail, so the check is not vacuous. The snippet also runs as its docstring says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shardsafe_harness import paths

SNIPPET = paths.SNIPPETS / "typed_handlers.py"


def mypy_strict(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.12", "--config-file", "/dev/null",
         "--cache-dir", str(cache), "--no-error-summary", str(path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_typed_handlers_pass_mypy_strict_and_a_typo_in_them_does_not(tmp_path: Path) -> None:
    passed = mypy_strict(SNIPPET, tmp_path / "cache")
    assert passed.returncode == 0, passed.stdout + passed.stderr

    wrong = tmp_path / "typed_handlers_wrong.py"
    text = SNIPPET.read_text()
    assert "record.data.PRICE * 2" in text and "record.new_image.get(" in text
    wrong.write_text(
        text.replace("record.data.PRICE * 2", "record.data.PRYCE * 2").replace(
            "record.new_image.get(", "record.new_image.gett("
        )
    )
    failed = mypy_strict(wrong, tmp_path / "cache")
    assert failed.returncode == 1
    assert '"Tick" has no attribute "PRYCE"' in failed.stdout
    assert 'has no attribute "gett"' in failed.stdout


def test_the_typed_snippet_runs_as_its_docstring_says() -> None:
    done = subprocess.run(
        [sys.executable, str(SNIPPET)], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {"batchItemFailures": []}
