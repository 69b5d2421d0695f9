"""scripts/tfdocs.py: the Terraform reference in docs/module.md is generated from the .tf files and a
stale one is caught."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tfdocs.py"

MODULE_TF = """
terraform {
  required_version = ">= 1.9"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
  }
}

variable "name" {
  description = "Name | of the thing <here>."
  type        = string
}

variable "settings" {
  description = <<-EOT
    Settings:
    - size: how big.
  EOT
  type = object({
    size = optional(number, 3)
  })
  default = {}
}

variable "mode" {
  description = "Mode."
  type        = string
  default     = "FAST"
}

resource "aws_sqs_queue" "this" {
  name = var.name
}

data "aws_partition" "current" {}

output "queue_url" {
  description = "URL of the queue."
  value       = aws_sqs_queue.this.url
}
"""


@pytest.fixture(scope="module")
def tfdocs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tfdocs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tfdocs"] = module
    spec.loader.exec_module(module)
    return module


MARKED = "# m\n\n<!-- BEGIN_TF_DOCS -->\nold\n<!-- END_TF_DOCS -->\n\ntail\n"


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(MODULE_TF)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "module.md").write_text(MARKED)
    return tmp_path


def page(module_dir: Path) -> str:
    return (module_dir / "docs" / "module.md").read_text()


def test_generation_fills_the_marked_section_and_keeps_the_rest(tfdocs: ModuleType, module_dir: Path) -> None:
    assert tfdocs.main(["--module-dir", str(module_dir)]) == 0
    doc = page(module_dir)

    assert doc.startswith("# m\n\n<!-- BEGIN_TF_DOCS -->\n### Requirements")
    assert doc.endswith("<!-- END_TF_DOCS -->\n\ntail\n")
    assert "old" not in doc
    assert "| terraform | <code>&gt;= 1.9</code> |" in doc
    assert "| <code>aws_sqs_queue.this</code> | resource |" in doc
    assert "| <code>data.aws_partition.current</code> | data source |" in doc
    assert "| <code>queue_url</code> | URL of the queue. |" in doc


def test_inputs_show_type_default_and_whether_required(tfdocs: ModuleType, module_dir: Path) -> None:
    tfdocs.main(["--module-dir", str(module_dir)])
    doc = page(module_dir)

    # Pipes and HTML in descriptions are escaped; a required variable has no default.
    assert (
        "| <code>name</code> | Name \\| of the thing &lt;here&gt;. | <code>string</code> | n/a | yes |" in doc
    )
    # Heredoc descriptions are dedented, their lines joined with <br>; object types kept whole.
    assert (
        "| <code>settings</code> | Settings:<br>- size: how big. | "
        "<code>object({size = optional(number, 3)})</code> | <code>{}</code> | no |"
    ) in doc
    assert '| <code>mode</code> | Mode. | <code>string</code> | <code>"FAST"</code> | no |' in doc


def test_check_passes_when_fresh_and_fails_with_the_fix_when_stale(
    tfdocs: ModuleType, module_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tfdocs.main(["--module-dir", str(module_dir)])
    assert tfdocs.main(["--module-dir", str(module_dir), "--check"]) == 0

    main_tf = module_dir / "main.tf"
    main_tf.write_text(main_tf.read_text().replace("URL of the queue.", "Where to send."))
    before = page(module_dir)

    assert tfdocs.main(["--module-dir", str(module_dir), "--check"]) == 1
    assert page(module_dir) == before
    assert "run `make tf-docs`" in capsys.readouterr().err


def test_the_reference_goes_to_docs_module_md_and_leaves_the_readme_alone(
    tfdocs: ModuleType, module_dir: Path
) -> None:
    # The README links to the reference; markers left in it are not the place the reference goes.
    (module_dir / "README.md").write_text(MARKED)

    assert tfdocs.main(["--module-dir", str(module_dir)]) == 0
    assert (module_dir / "README.md").read_text() == MARKED
    assert "### Inputs" in page(module_dir)


def test_doc_names_another_page(tfdocs: ModuleType, module_dir: Path) -> None:
    other = module_dir / "reference.md"
    other.write_text(MARKED)

    assert tfdocs.main(["--module-dir", str(module_dir), "--doc", str(other)]) == 0
    assert "### Inputs" in other.read_text()
    assert page(module_dir) == MARKED


def test_a_page_without_markers_is_an_error(
    tfdocs: ModuleType, module_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (module_dir / "docs" / "module.md").write_text("# m\n")

    assert tfdocs.main(["--module-dir", str(module_dir)]) == 2
    assert "<!-- BEGIN_TF_DOCS -->" in capsys.readouterr().err


def test_a_variable_without_description_is_an_error(
    tfdocs: ModuleType, module_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (module_dir / "extra.tf").write_text('variable "undocumented" {\n  type = string\n}\n')

    assert tfdocs.main(["--module-dir", str(module_dir)]) == 2
    assert 'variable "undocumented" has no description' in capsys.readouterr().err
