"""The deployed example pipeline on LocalStack: deploy it, feed it, wait until every record is accounted for.

Shared by the demo and the end-to-end tests, so both exercise the same thing: examples/complete
applied by Terraform from a copy (the repository is never written to), with a zip and handler the
caller chooses (the demo's: the template plus a crash trigger).

A deployment can be kept: with ``SHARDSAFE_KEEP_STACK=1`` the end-to-end tests leave theirs (and the
LocalStack under it) running, and the next run finds it with :meth:`Deployment.resume` and applies
the example again, which changes only what changed (the function's code, say).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shardsafe.ops.failures import FailedBatch
from shardsafe_harness import paths
from shardsafe_harness.accounting import (
    GOOD_KINDS,
    PROCESSED_PREFIX,
    Collector,
    ManifestRecord,
    Reconciliation,
    reconcile,
)
from shardsafe_harness.clients import localstack_client
from shardsafe_harness.terraform import Terraform

__all__ = [
    "KEEP_STACK_ENV",
    "Deployment",
    "Stack",
    "deployed_example",
    "deployed_stack",
    "keep_stack",
    "recover_failure_batches",
    "stack_settings",
    "wait_until_accounted",
]

EXAMPLE = paths.EXAMPLES / "complete"
#: Set to 1 to keep the end-to-end tests' stack (and LocalStack) between runs and reuse it.
KEEP_STACK_ENV = "SHARDSAFE_KEEP_STACK"
RECORD_FILE = "shardsafe-stack.json"


def keep_stack() -> bool:
    """Whether SHARDSAFE_KEEP_STACK asks to keep the stack between runs."""
    return os.environ.get(KEEP_STACK_ENV, "").strip() not in ("", "0")


@dataclass(frozen=True)
class Stack:
    """The outputs of examples/complete that the demo and the tests use, and clients bound to LocalStack."""

    endpoint: str
    outputs: dict[str, Any]
    settings: dict[str, Any]

    def client(self, service: str) -> Any:
        return localstack_client(service, self.endpoint)

    @property
    def stream_name(self) -> str:
        return str(self.outputs["stream_name"])

    @property
    def failure_bucket(self) -> str | None:
        """The module's failure bucket (S3 on-failure destination and claim checks), if it made one."""
        name = self.outputs.get("failure_bucket_name")
        return str(name) if name else None

    def collector(self) -> Collector:
        return Collector(
            self.client("s3"),
            self.client("sqs"),
            bucket=str(self.outputs["output_bucket_name"]),
            queue_url=str(self.outputs["failure_queue_url"]),
            failure_bucket=self.failure_bucket,
        )

    def reset(self) -> None:
        """Forget what earlier loads left: empty the queue, the processed records and the failure bucket."""
        self.client("sqs").purge_queue(QueueUrl=self.outputs["failure_queue_url"])
        s3 = self.client("s3")
        emptied = [(self.outputs["output_bucket_name"], PROCESSED_PREFIX)]
        if self.failure_bucket:
            emptied.append((self.failure_bucket, ""))
        for bucket, prefix in emptied:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def stack_settings(name_prefix: str, shard_count: int, zip_path: Path, handler: str) -> dict[str, Any]:
    return {
        "name_prefix": name_prefix,
        "lambda_zip_path": str(zip_path),
        "handler": handler,
        "shard_count": shard_count,
        "maximum_retry_attempts": 2,
        "maximum_record_age_in_seconds": 3600,
        # The module's default: batches given up on land whole in the failure bucket (records included),
        # which also keeps claim checks; nothing then depends on the stream's retention.
        "failure_destination_kind": "s3",
        "enhanced_fan_out": True,
    }


class Deployment:
    """examples/complete applied to LocalStack from a copy in ``workdir``; the Terraform state stays there."""

    def __init__(
        self,
        endpoint: str,
        workdir: Path,
        zip_path: Path,
        *,
        handler: str,
        shard_count: int = 4,
        name_prefix: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.workdir = workdir
        self.prefix = name_prefix or f"ss-{uuid.uuid4().hex[:8]}"
        self.reused = name_prefix is not None
        # Refreshed on every deployment, so a kept stack is applied from the current files.
        copy = copy_example(EXAMPLE.name, workdir)
        self.settings = stack_settings(self.prefix, shard_count, zip_path, handler)
        self.terraform = Terraform(copy, endpoint, self.settings)
        self.stack: Stack | None = None

    @classmethod
    def resume(
        cls, endpoint: str, workdir: Path, zip_path: Path, *, handler: str, shard_count: int
    ) -> Deployment:
        """The deployment recorded in ``workdir`` if this LocalStack still has it (``reused`` is then
        True), else a new one there (what an earlier LocalStack had is forgotten)."""
        record = _read_record(workdir / RECORD_FILE)
        state = workdir / "examples" / "complete" / "terraform.tfstate"
        if (
            record.get("endpoint") == endpoint
            and state.is_file()
            and _stream_exists(endpoint, str(record.get("stream_name", "")))
        ):
            return cls(
                endpoint,
                workdir,
                zip_path,
                handler=handler,
                shard_count=shard_count,
                name_prefix=str(record["name_prefix"]),
            )
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        return cls(endpoint, workdir, zip_path, handler=handler, shard_count=shard_count)

    def deploy(self) -> Stack:
        self.terraform.init()
        self.stack = Stack(endpoint=self.endpoint, outputs=self.terraform.apply(), settings=self.settings)
        record = {
            "endpoint": self.endpoint,
            "name_prefix": self.prefix,
            "stream_name": self.stack.stream_name,
        }
        (self.workdir / RECORD_FILE).write_text(json.dumps(record) + "\n")
        return self.stack

    def destroy(self) -> None:
        """Destroy what Terraform created; safe to call more than once."""
        if self.terraform.state_resources():
            self.terraform.destroy()
        (self.workdir / RECORD_FILE).unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        """Everything named after this deployment's prefix that LocalStack still has."""
        prefix = self.prefix

        def client(service: str) -> Any:
            return localstack_client(service, self.endpoint)

        found: list[str] = []
        found += [
            f"stream {n}" for n in client("kinesis").list_streams()["StreamNames"] if n.startswith(prefix)
        ]
        functions = client("lambda").list_functions()["Functions"]
        found += [f"function {f['FunctionName']}" for f in functions if f["FunctionName"].startswith(prefix)]
        mappings = client("lambda").list_event_source_mappings()["EventSourceMappings"]
        found += [
            f"mapping {m['UUID']}" for m in mappings if f":function:{prefix}" in m.get("FunctionArn", "")
        ]
        found += [
            f"queue {u}" for u in client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        ]
        groups = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"]
        found += [f"log group {g['logGroupName']}" for g in groups]
        alarms = client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
        found += [f"alarm {a['AlarmName']}" for a in alarms]
        dashboards = client("cloudwatch").list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]
        found += [f"dashboard {d['DashboardName']}" for d in dashboards]
        found += [
            f"role {r['RoleName']}"
            for r in client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(prefix)
        ]
        found += [
            f"bucket {b['Name']}"
            for b in client("s3").list_buckets()["Buckets"]
            if b["Name"].startswith(prefix)
        ]
        aliases = client("kms").list_aliases()["Aliases"]
        found += [f"key alias {a['AliasName']}" for a in aliases if a["AliasName"] == f"alias/{prefix}"]
        return found


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _stream_exists(endpoint: str, stream_name: str) -> bool:
    if not stream_name:
        return False
    try:
        localstack_client("kinesis", endpoint).describe_stream_summary(StreamName=stream_name)
    except Exception:  # not found, or no LocalStack there any more: either way, nothing to reuse
        return False
    return True


def copy_example(example: str, workdir: Path) -> Path:
    """examples/<example> copied to ``workdir``/examples/<example> with the module's files at ``workdir``
    (the example calls the module as "../../"); the repository is never written to."""
    copy = workdir / "examples" / example
    shutil.copytree(
        paths.EXAMPLES / example,
        copy,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*_override.tf"),
    )
    for module_file in paths.MODULE_FILES:
        shutil.copyfile(module_file, workdir / module_file.name)
    return copy


@contextmanager
def deployed_example(
    example: str, endpoint: str, workdir: Path, variables: dict[str, object]
) -> Iterator[dict[str, Any]]:
    """examples/<example> applied to LocalStack with ``variables`` for the duration of a ``with``
    block; yields its outputs, and destroys what it created afterwards (also when apply failed half way)."""
    terraform = Terraform(copy_example(example, workdir), endpoint, variables)
    terraform.init()
    try:
        yield terraform.apply()
    finally:
        if terraform.state_resources():
            terraform.destroy()


@contextmanager
def deployed_stack(
    endpoint: str, workdir: Path, zip_path: Path, *, handler: str, shard_count: int = 4
) -> Iterator[Stack]:
    """A deployed examples/complete for the duration of a ``with`` block."""
    deployment = Deployment(endpoint, workdir, zip_path, handler=handler, shard_count=shard_count)
    try:
        yield deployment.deploy()
    finally:
        deployment.destroy()


def recover_failure_batches(
    stack: Stack, batches: Iterable[FailedBatch], out: Path | None = None
) -> list[Any]:
    """The records behind Lambda's on-failure records, by ``shardsafe redrive``'s recovery: from the S3
    object when it carries them (no stream read), else re-read from the stream (optionally written to
    ``out`` as JSON Lines, as ``redrive --to-file`` writes them)."""
    from shardsafe.ops.redrive import FileTarget, recover

    recovered = []
    kinesis, s3 = stack.client("kinesis"), stack.client("s3")
    for batch in batches:
        recovery = recover(kinesis, batch, s3=s3)
        if recovery.unrecoverable:
            raise AssertionError(
                f"batch {batch.shard_id} {batch.start}..{batch.end}: {recovery.unrecoverable}"
            )
        recovered += recovery.records
    if out is not None:
        out.unlink(missing_ok=True)
        FileTarget(out).write(recovered)
    return recovered


def wait_until_accounted(
    stack: Stack,
    produced: list[ManifestRecord],
    deadline_s: float,
    poll_interval_s: float = 0.5,
) -> tuple[Reconciliation, float]:
    """Poll what the pipeline left until every record is accounted for or the deadline passes.

    Returns the last reconciliation and the seconds it took; the caller decides what incomplete means.
    """
    collector = stack.collector()
    started = time.monotonic()
    give_up = started + deadline_s
    while True:
        result = reconcile(produced, collector.poll(), GOOD_KINDS)
        if result.complete or time.monotonic() >= give_up:
            collector.release()  # the queue's messages stay there, visible, for a redrive
            return result, time.monotonic() - started
        time.sleep(poll_interval_s)
