"""Terraform's environment, defined once for the Makefile and the harness."""

from __future__ import annotations

from pathlib import Path

import pytest
from shardsafe_harness import paths, terraform


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "plugin-cache")


def test_the_provider_mirror_is_used_where_the_machine_has_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: str
) -> None:
    monkeypatch.setattr(terraform, "MIRROR", tmp_path)
    settings = terraform.terraform_settings({"TF_PLUGIN_CACHE_DIR": cache})

    assert settings["TF_CLI_CONFIG_FILE"] == str(paths.TERRAFORM_MIRROR_CONFIG)
    assert (settings["TF_IN_AUTOMATION"], settings["TF_INPUT"]) == ("1", "0")
    assert Path(cache).is_dir(), "Terraform refuses a plugin cache folder that does not exist"


def test_no_mirror_means_the_public_registry_and_a_config_naming_a_missing_file_is_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: str
) -> None:
    monkeypatch.setattr(terraform, "MIRROR", tmp_path / "absent")
    settings = terraform.terraform_settings(
        {"TF_CLI_CONFIG_FILE": str(tmp_path / "gone.tfrc"), "TF_PLUGIN_CACHE_DIR": cache}
    )
    assert "TF_CLI_CONFIG_FILE" not in settings

    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "gone.tfrc"))
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", cache)
    assert "TF_CLI_CONFIG_FILE" not in terraform.terraform_env()


def test_a_users_own_cli_config_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: str) -> None:
    mine = tmp_path / "mine.tfrc"
    mine.write_text("")
    monkeypatch.setattr(terraform, "MIRROR", tmp_path)
    settings = terraform.terraform_settings({"TF_CLI_CONFIG_FILE": str(mine), "TF_PLUGIN_CACHE_DIR": cache})
    assert settings["TF_CLI_CONFIG_FILE"] == str(mine)


def test_the_makefile_reads_the_settings_as_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cache: str
) -> None:
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", cache)
    assert terraform.main(["env"]) == 0
    words = capsys.readouterr().out.split()
    assert "TF_IN_AUTOMATION=1" in words
    assert f"TF_PLUGIN_CACHE_DIR={cache}" in words
    assert terraform.main(["nonsense"]) == 2
