"""examples/own-project deployed on LocalStack both ways its README shows: shardsafe inside the function's
zip, and a thin zip with shardsafe's layer. Each way, the zips are built by the README's `shardsafe
package` commands, the Terraform is applied from a copy (calling the module as ../../), and every
record put is accounted for by identity: each good record processed by the project's own code (with
its own dependency, attrs), each poison record quarantined with its bytes intact, nothing else."""

from __future__ import annotations

import re
import shlex
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from shardsafe_harness import paths
from shardsafe_harness.accounting import GOOD_KINDS, manifest_records
from shardsafe_harness.stack import Stack, wait_until_accounted
from shardsafe_harness.terraform import Terraform

from shardsafe.ops.cli import main as shardsafe
from shardsafe.ops.produce import generate_records, produce

pytestmark = pytest.mark.terraform  # its stacks are applied with Terraform: scheduled first

EXAMPLE = paths.EXAMPLES / "own-project"
RECORDS = 200
POISON_FRACTION = 0.2  # 40 poison records: every kind several times
DEADLINE_S = 240
HANDLER = "ticks.handler.lambda_handler"

# The README's commands, run in the example's folder.
FAT = [
    [
        "package",
        "src",
        "--handler",
        HANDLER,
        "--requirements",
        "requirements.txt",
        "--zip",
        "build/function.zip",
    ],
]
THIN_WITH_LAYER = [
    ["package", "--layer", "--zip", "build/shardsafe-layer.zip"],
    ["package", "src", "--handler", HANDLER, "--requirements", "requirements.txt", "--thin",
     "--zip", "build/function.zip"],
]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example with the module's files two folders up, as in this repository; the
    current folder, with uv found as a user's shell finds it."""
    copy = tmp_path / "examples" / "own-project"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "build"))
    for module_file in paths.MODULE_FILES:
        shutil.copyfile(module_file, tmp_path / module_file.name)
    monkeypatch.chdir(copy)
    if paths.UV.is_file():
        monkeypatch.setenv("UV", str(paths.UV))
    return copy


@pytest.fixture
def deploy(localstack_endpoint: str, project: Path) -> Iterator[object]:
    made: list[Terraform] = []

    def apply(variables: dict[str, object]) -> Stack:
        terraform = Terraform(project, localstack_endpoint, variables)
        made.append(terraform)
        terraform.init()
        outputs = terraform.apply()
        # The harness's collector reads the quarantine queue under its older name.
        outputs["failure_queue_url"] = outputs["quarantine_queue_url"]
        return Stack(endpoint=localstack_endpoint, outputs=outputs, settings=variables)

    yield apply
    for terraform in made:
        if terraform.state_resources():
            terraform.destroy()


def test_the_packaging_commands_run_here_are_the_readmes() -> None:
    """FAT and THIN_WITH_LAYER are the README's ``shardsafe package`` lines, as written, in order."""
    readme = (EXAMPLE / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    commands = [
        [
            shlex.split(line.split("#")[0])[1:]
            for line in block.splitlines()
            if line.startswith("shardsafe package")
        ]
        for block in blocks
    ]
    assert [found for found in commands if found] == [FAT, THIN_WITH_LAYER]


@pytest.mark.parametrize(
    ("way", "commands", "layer"),
    [("fat_zip", FAT, False), ("thin_zip_and_layer", THIN_WITH_LAYER, True)],
)
def test_own_project_processes_good_records_and_quarantines_poison(
    way: str, commands: list[list[str]], layer: bool, project: Path, deploy: object
) -> None:
    for command in commands:
        assert shardsafe(command) == 0, command
    with zipfile.ZipFile(project / "build" / "function.zip") as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {"ticks", "attrs"} <= tops
    assert ("shardsafe" in tops) is not layer, f"{way}: shardsafe belongs in the zip only without the layer"

    name = f"own-{way.replace('_', '-')[:12]}"
    variables: dict[str, object] = {"name": name, "function_zip_path": "build/function.zip"}
    if layer:
        variables["layer_zip_path"] = "build/shardsafe-layer.zip"
    stack = deploy(variables)  # type: ignore[operator]

    function = stack.client("lambda").get_function(FunctionName=stack.outputs["function_name"])
    layers = [item["Arn"] for item in function["Configuration"].get("Layers", [])]
    assert layers == ([stack.outputs.get("layer_arn")] if layer else []), layers

    offered = list(generate_records(RECORDS, poison=POISON_FRACTION, keys=4, seed=14))
    result = produce(stack.client("kinesis"), stack.stream_name, offered)
    assert result.failed == 0, result.summary()
    manifest = manifest_records(result.records)
    reconciliation, _ = wait_until_accounted(stack, manifest, DEADLINE_S)

    good = {record.coordinates for record in manifest if record.kind in GOOD_KINDS}
    poison = {record.coordinates for record in manifest if record.kind not in GOOD_KINDS}
    assert len(good) + len(poison) == RECORDS and poison
    assert not reconciliation.unaccounted, f"not accounted for: {reconciliation.unaccounted[:5]}"
    assert {record.coordinates for record in reconciliation.processed} == good
    assert {record.coordinates for record in reconciliation.quarantined} == poison
    assert not reconciliation.in_failure_batches, "no batch may be given up on: every record is handled"
    assert not reconciliation.payload_mismatches, "quarantined records must keep their bytes"
    # Processed by the project's code: its attrs model made each record's "tick".
    for coordinates in good:
        (document,) = reconciliation.observed.processed[coordinates]
        data = document["data"]
        assert document["tick"] == {
            "ticker": data["TICKER"],
            "price": float(data["PRICE"]),
            "event_time": data["EVENT_TIME"],
        }
