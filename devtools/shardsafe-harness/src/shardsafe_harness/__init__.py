"""shardsafe_harness: deploy shardsafe on LocalStack and account for every record.

Shared by the demo (``python -m demo``), the end-to-end tests and the benchmarks:

- :mod:`~shardsafe_harness.paths`: where things are in the repository (the only module that computes it);
- :mod:`~shardsafe_harness.clients`: boto3 clients bound to a LocalStack (``localstack_client``);
- :mod:`~shardsafe_harness.terraform`: Terraform against LocalStack, and the environment it runs in;
- :mod:`~shardsafe_harness.stack`: examples/complete deployed (``Deployment``, ``Stack``), fed and waited on;
- :mod:`~shardsafe_harness.accounting`: every record put matched to where it ended up (``reconcile``);
- :mod:`~shardsafe_harness.resources`: streams, queues and functions made directly, deleted after;
- :mod:`~shardsafe_harness.logs`: what a function logged (``log_messages``, ``json_lines``);
- :mod:`~shardsafe_harness.events`: Kinesis records shaped as Lambda sends them;
- :mod:`~shardsafe_harness.zips`: shardsafe's Lambda zip, built by ``shardsafe.ops.packaging``.

The names below are loaded on first use, so ``import shardsafe_harness`` costs nothing (and the
Makefile can run ``python -m shardsafe_harness.terraform`` before the environment exists).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Collector": "accounting",
    "ManifestRecord": "accounting",
    "Reconciliation": "accounting",
    "manifest_records": "accounting",
    "reconcile": "accounting",
    "localstack_client": "clients",
    "kinesis_record": "events",
    "json_lines": "logs",
    "log_messages": "logs",
    "wait_for_message": "logs",
    "Resources": "resources",
    "KEEP_STACK_ENV": "stack",
    "Deployment": "stack",
    "Stack": "stack",
    "deployed_stack": "stack",
    "keep_stack": "stack",
    "recover_failure_batches": "stack",
    "wait_until_accounted": "stack",
    "Terraform": "terraform",
    "TerraformError": "terraform",
    "terraform_env": "terraform",
    "package_zip": "zips",
}

__all__ = [
    "KEEP_STACK_ENV",
    "Collector",
    "Deployment",
    "ManifestRecord",
    "Reconciliation",
    "Resources",
    "Stack",
    "Terraform",
    "TerraformError",
    "deployed_stack",
    "json_lines",
    "keep_stack",
    "kinesis_record",
    "localstack_client",
    "log_messages",
    "manifest_records",
    "package_zip",
    "reconcile",
    "recover_failure_batches",
    "terraform_env",
    "wait_for_message",
    "wait_until_accounted",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'shardsafe_harness' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shardsafe_harness.{home}"), name)
