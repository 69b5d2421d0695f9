"""Write the Terraform module's reference (requirements, resources, inputs, outputs) into docs/module.md.

terraform-docs cannot be installed here, so this reads the module's ``*.tf`` files with python-hcl2
and rewrites the part of docs/module.md between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``
(the README stays short and links there). ``--check`` writes nothing and exits 1 when that part is stale.

    python scripts/tfdocs.py            # regenerate (make tf-docs)
    python scripts/tfdocs.py --check    # fail when stale (make tf-docs-check)
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
HEREDOC = re.compile(r"^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\n(.*?)\n?[ \t]*\2[ \t]*$", re.DOTALL)


DOC_PAGE = Path("docs") / "module.md"
"""Where the reference goes, relative to the module's folder."""


class DocsError(RuntimeError):
    """The module or its reference page cannot be documented; the message says what to fix."""


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # None: required

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def text(value: Any) -> str:
    """A python-hcl2 string as Terraform means it: quotes and ${} removed, heredocs dedented."""
    if not isinstance(value, str):
        raise DocsError(f"expected a string, got {value!r}")
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        value = json.loads(value, strict=False)
        if heredoc := HEREDOC.match(value):
            indented, _marker, body = heredoc.groups()
            return textwrap.dedent(body) if indented else body
        return str(value)
    if value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


def literal(value: Any) -> Any:
    """A default value as plain Python data, for rendering as Terraform shows it."""
    if isinstance(value, dict):
        return {text(key): literal(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [literal(item) for item in value]
    if isinstance(value, str):
        return text(value)
    return value


def render_default(value: Any) -> str:
    """A default as Terraform code: JSON-like literals, expressions as written."""
    if value is None:
        return "null"
    if isinstance(value, str) and value.startswith("${"):
        return text(value)
    return json.dumps(literal(value), separators=(", ", ": "))


def blocks(parsed: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The (label, body) pairs of every `kind` block of one parsed file, in file order."""
    return [(text(label), body) for block in parsed.get(kind, []) for label, body in block.items()]


def load_module(module_dir: Path) -> dict[str, list[Any]]:
    """Every *.tf file of the module (not its examples or tests), parsed, grouped by block kind."""
    files = sorted(module_dir.glob("*.tf"))
    if not files:
        raise DocsError(f"no *.tf files in {module_dir}")
    module: dict[str, list[Any]] = {"variable": [], "output": [], "resource": [], "data": [], "terraform": []}
    for path in files:
        try:
            parsed = hcl2.load(path.open())
        except Exception as error:  # python-hcl2 raises lark's many exception types
            raise DocsError(f"cannot parse {path}: {error}") from error
        for kind in ("variable", "output"):
            module[kind].extend(blocks(parsed, kind))
        for kind in ("resource", "data"):
            for type_name, named in blocks(parsed, kind):
                module[kind].extend(f"{type_name}.{text(name)}" for name in named if name != "__is_block__")
        module["terraform"].extend(parsed.get("terraform", []))
    return module


def variables(module: dict[str, list[Any]]) -> list[Variable]:
    result = []
    for name, body in module["variable"]:
        if "description" not in body:
            raise DocsError(f'variable "{name}" has no description')
        result.append(
            Variable(
                name=name,
                description=text(body["description"]),
                type=text(body["type"]) if "type" in body else "any",
                default=render_default(body["default"]) if "default" in body else None,
            )
        )
    return result


def outputs(module: dict[str, list[Any]]) -> list[Output]:
    result = []
    for name, body in module["output"]:
        if "description" not in body:
            raise DocsError(f'output "{name}" has no description')
        result.append(Output(name=name, description=text(body["description"])))
    return result


def requirements(module: dict[str, list[Any]]) -> list[tuple[str, str]]:
    rows = []
    for block in module["terraform"]:
        if "required_version" in block:
            rows.append(("terraform", text(block["required_version"])))
        for providers in block.get("required_providers", []):
            for name, spec in providers.items():
                if name != "__is_block__":
                    rows.append((text(name), text(spec.get("version", '"any"'))))
    return rows


def cell(value: str) -> str:
    """Markdown table cell: HTML and pipes escaped, line breaks kept as <br>."""
    escaped = value.strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\n", "<br>")


def code(value: str) -> str:
    """Inline code in a table cell (an HTML code element, so that escapes and <br> work inside it)."""
    return f"<code>{cell(value)}</code>"


def render(module: dict[str, list[Any]]) -> str:
    lines = ["### Requirements", "", "| Name | Version |", "| --- | --- |"]
    lines += [f"| {name} | {code(version)} |" for name, version in requirements(module)]

    lines += ["", "### Resources", "", "| Name | Kind |", "| --- | --- |"]
    lines += [f"| {code(name)} | resource |" for name in module["resource"]]
    lines += [f"| {code('data.' + name)} | data source |" for name in module["data"]]

    lines += [
        "",
        "### Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "| --- | --- | --- | --- | :---: |",
    ]
    for variable in variables(module):
        default = "n/a" if variable.default is None else code(variable.default)
        required = "yes" if variable.required else "no"
        lines.append(
            f"| {code(variable.name)} | {cell(variable.description)} | {code(variable.type)} | {default} | {required} |"
        )

    lines += ["", "### Outputs", "", "| Name | Description |", "| --- | --- |"]
    lines += [f"| {code(output.name)} | {cell(output.description)} |" for output in outputs(module)]
    return "\n".join(lines)


def splice(page: str, generated: str, page_path: Path) -> str:
    """The page's text with the part between the markers replaced by the generated docs."""
    if page.count(BEGIN) != 1 or page.count(END) != 1 or page.index(BEGIN) > page.index(END):
        raise DocsError(f"{page_path} must contain {BEGIN} and then {END}, once each")
    head, rest = page.split(BEGIN)
    _old, tail = rest.split(END)
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--module-dir", type=Path, default=Path("."), help="folder of the module's *.tf files"
    )
    parser.add_argument(
        "--doc", type=Path, default=None, help=f"page to update (default: MODULE_DIR/{DOC_PAGE})"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page_path: Path = args.doc or args.module_dir / DOC_PAGE

    try:
        current = page_path.read_text()
        wanted = splice(current, render(load_module(args.module_dir)), page_path)
    except (OSError, DocsError) as error:
        print(f"tfdocs: {error}", file=sys.stderr)
        return 2

    if current == wanted:
        return 0
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), wanted.splitlines(keepends=True), str(page_path), "generated"
        )
        sys.stderr.writelines(diff)
        print(
            f"tfdocs: the Terraform docs in {page_path} are stale (diff above): run `make tf-docs` and commit.",
            file=sys.stderr,
        )
        return 1
    page_path.write_text(wanted)
    print(f"tfdocs: updated {page_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
