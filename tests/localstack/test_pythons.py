"""Finding a Python of a given version: the Makefile's and the process executor's one way."""

from __future__ import annotations

import sys

import pytest
from shardsafe_localstack import pythons

THIS = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_the_running_interpreter_is_found_for_its_own_version() -> None:
    assert pythons.runs_version(pythons.find_python((THIS,)), THIS)


def test_an_override_that_is_no_such_python_is_refused_by_name() -> None:
    with pytest.raises(pythons.PythonNotFound, match=r"/no/such/python is not a working Python 3\.12"):
        pythons.find_python(("3.12",), override="/no/such/python")


def test_a_version_nobody_has_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pythons, "runs_version", lambda path, version: False)
    with pytest.raises(pythons.PythonNotFound, match=r"install one, for example `pyenv install 3\.99`"):
        pythons.find_python(("3.99",))


def test_the_script_prints_the_path_or_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHON", raising=False)  # the Makefile exports the one it found
    assert pythons.main([THIS]) == 0
    assert pythons.runs_version(capsys.readouterr().out.strip(), THIS)
    assert pythons.main(["2.1"]) == 1
    assert "error: no working Python 2.1 found" in capsys.readouterr().err
