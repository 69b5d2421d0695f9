"""Running an example's README commands as written, against the embedded LocalStack.

The README's ``sh`` block is read from the README itself and run line by line in one bash, from a folder
laid out like the repository for the example: a copy of examples/<name> (never the repository's own),
the module's files two folders up, and the repository's build/ beside them, where ``make package``
writes the zip. Then:

- a ``make`` command runs at the repository's root, as the README says to run it from there;
- ``terraform init`` and ``terraform apply`` run as written (``apply`` is answered ``yes``), the provider
  pointed at LocalStack by the generated, git-ignored ``localstack_override.tf``;
- ``aws`` and ``shardsafe`` commands run as written, with ``AWS_ENDPOINT_URL`` naming LocalStack and
  ``.venv/bin`` first on PATH;
- names come from ``TF_VAR_name`` (unique per run): the commands read every name from ``terraform output``;
  ``TF_VAR_force_destroy`` lets the test's ``terraform destroy`` empty the example's failure bucket.

:class:`ReadmeRun` destroys what Terraform made when the test ends.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from shardsafe_harness import paths
from shardsafe_harness.stack import copy_example
from shardsafe_harness.terraform import provider_override, terraform_env


def readme_commands(example: str) -> list[str]:
    """The commands of examples/<example>/README.md's ``sh`` block, in order."""
    readme = paths.EXAMPLES / example / "README.md"
    block = re.search(r"```sh\n(.*?)```", readme.read_text(), re.DOTALL)
    assert block, f"{readme} has no sh block"
    lines = (without_comment(line) for line in block.group(1).splitlines())
    return [line for line in lines if line.strip()]


def without_comment(line: str) -> str:
    """``line`` without a trailing shell comment (a ``#`` after a space, outside quotes), as bash reads it."""
    quote = ""
    for position, character in enumerate(line):
        if quote:
            quote = "" if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip()
    return line


def serialised_init(folder: Path, plugin_cache: Path) -> None:
    """A ``terraform`` in ``folder`` that runs ``terraform init`` under the lock the harness takes
    (shardsafe_harness.terraform.Terraform.init): README commands are run as written, and Terraform's
    plugin cache is not safe for inits side by side."""
    real = shutil.which("terraform")
    assert real, "terraform is not on PATH"
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "terraform"
    wrapper.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "${{1:-}}" = init ]; then exec flock {plugin_cache / ".init.lock"} {real} "$@"; fi\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)


def aws_cli_on_localstack(folder: Path, endpoint: str) -> None:
    """An ``aws`` in ``folder`` that is the AWS CLI with ``--endpoint-url`` set to LocalStack.

    ``AWS_ENDPOINT_URL`` points the CLI's other commands there, but AWS CLI v1 replaces the endpoint of
    ``aws sqs`` in us-east-1 with ``https://queue.amazonaws.com`` unless ``--endpoint-url`` is given
    (awscli/customizations/overridesslcommonname.py): on AWS that is SQS' own endpoint, here it is not.
    """
    real = paths.REPO / ".venv" / "bin" / "aws"
    assert real.exists(), f"{real} is missing: make venv installs the AWS CLI"
    wrapper = folder / "aws"
    wrapper.write_text(f'#!/usr/bin/env bash\nexec {real} --endpoint-url {endpoint} "$@"\n')
    wrapper.chmod(0o755)


class ReadmeRun:
    """One example's README run on a copy of it; ``destroy()`` removes what Terraform made."""

    def __init__(self, example: str, endpoint: str, root: Path) -> None:
        self.example = example
        self.endpoint = endpoint
        self.root = root
        self.copy = copy_example(example, root)
        (root / "build").symlink_to(paths.BUILD, target_is_directory=True)
        paths.BUILD.mkdir(exist_ok=True)
        (self.copy / "localstack_override.tf").write_text(provider_override(endpoint))
        self.env = terraform_env()
        self.env.pop("TF_INPUT", None)  # `terraform apply` asks for its yes, as it asks a user
        wrappers = root / "bin"
        serialised_init(wrappers, Path(self.env["TF_PLUGIN_CACHE_DIR"]))
        aws_cli_on_localstack(wrappers, endpoint)
        self.env.update(
            TF_VAR_name=f"ss-{uuid.uuid4().hex[:8]}-{example[:10]}",
            TF_VAR_force_destroy="true",  # where the example has it: destroy empties the failure bucket
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_PAGER="",
            PATH=f"{wrappers}:{paths.REPO / '.venv' / 'bin'}:{os.environ['PATH']}",
        )
        self.cwd = root

    def run(self, commands: list[str]) -> None:
        """Run ``commands`` in one bash from the root; later :meth:`more` runs where they ended."""
        script = ["set -euo pipefail"]
        for command in commands:
            if command.startswith("make "):
                script.append(f"(cd {paths.REPO} && {command} >&2)")  # from the repository's root
            elif command.strip() == "terraform apply":
                script.append(f"{command} -no-color <<< yes >&2")
            else:
                script.append(command)
        script.append("pwd")
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"README commands failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
        self.cwd = Path(done.stdout.splitlines()[-1])

    def more(self, command: str, ok: tuple[int, ...] = (0,)) -> str:
        """One more command where the README's left off; its stdout."""
        ran = subprocess.run(
            ["bash", "-c", command],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode in ok, f"{command}: exit {ran.returncode}\n{ran.stderr[-3000:]}"
        return ran.stdout

    def output(self, name: str) -> str:
        return self.more(f"terraform output -raw {name}").strip()

    def destroy(self) -> None:
        """``terraform destroy`` in the copy, with the run's variables, if anything was made."""
        if not (self.copy / "terraform.tfstate").exists():
            return
        done = subprocess.run(
            ["terraform", "destroy", "-auto-approve", "-input=false", "-no-color"],
            cwd=self.copy, env=self.env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"terraform destroy failed:\n{done.stderr[-3000:]}"
