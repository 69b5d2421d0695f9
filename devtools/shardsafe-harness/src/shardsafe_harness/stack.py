"""The deployed example pipeline on LocalStack: deploy it, feed it, wait until every record is accounted for.

Shared by ``make demo`` and the end-to-end tests, so both exercise the same thing: examples/complete
applied by Terraform, with the demo handler (the template plus a crash trigger) in the zip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from shardsafe_localstack import demo_handler
from shardsafe_localstack.accounting import Collector, FailureBatch, ManifestRecord, Reconciliation, reconcile
from shardsafe_localstack.terraform import REPO, Terraform

EXAMPLE = REPO / "examples" / "complete"
PACKAGE_ZIP = REPO / "build" / "lambda-python3.13-x86_64.zip"
DEMO_ZIP = REPO / "build" / "demo" / "lambda-demo.zip"
GOOD_KINDS = frozenset({"good"})
CRASH_KIND = "crash"
# ZipInfo needs a fixed time so the demo zip, like the package, has the same bytes every build.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def build_demo_zip(package_zip: Path = PACKAGE_ZIP, target: Path = DEMO_ZIP) -> Path:
    """The package zip plus ``demo_handler.py``; make rebuilds the package first if it is stale."""
    subprocess.run(["make", "--no-print-directory", str(package_zip.relative_to(REPO))], cwd=REPO, check=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    shutil.copyfile(package_zip, partial)
    with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("demo_handler.py", date_time=_ZIP_TIME)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, Path(demo_handler.__file__).read_bytes())
    partial.replace(target)
    return target


@dataclass(frozen=True)
class Stack:
    """The outputs of examples/complete that the demo and the tests use, and clients bound to LocalStack."""

    endpoint: str
    outputs: dict[str, Any]
    settings: dict[str, Any]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - LocalStack accepts any credentials
        )

    @property
    def stream_name(self) -> str:
        return str(self.outputs["stream_name"])

    def collector(self) -> Collector:
        return Collector(
            self.client("s3"),
            self.client("sqs"),
            bucket=str(self.outputs["output_bucket_name"]),
            queue_url=str(self.outputs["failure_queue_url"]),
        )


def stack_settings(name_prefix: str, shard_count: int, zip_path: Path) -> dict[str, Any]:
    return {
        "name_prefix": name_prefix,
        "lambda_zip_path": str(zip_path),
        "handler": "demo_handler.lambda_handler",
        "shard_count": shard_count,
        "maximum_retry_attempts": 2,
        "maximum_record_age_in_seconds": 3600,
        # The embedded LocalStack runs no SNS (see examples/complete/README.md).
        "create_alarm_topic": False,
        "enhanced_fan_out": True,
    }


class Deployment:
    """examples/complete applied to LocalStack from a copy in ``workdir`` (the repo is never written to)."""

    def __init__(
        self, endpoint: str, workdir: Path, shard_count: int = 4, name_prefix: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.prefix = name_prefix or f"ss-{uuid.uuid4().hex[:8]}"
        copy = workdir / "examples" / "complete"
        shutil.copytree(
            EXAMPLE, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*_override.tf")
        )
        # The example calls the module as "../../": put the module's files there.
        for name in ("versions.tf", "main.tf", "variables.tf", "outputs.tf"):
            shutil.copyfile(REPO / name, workdir / name)
        self.settings = stack_settings(self.prefix, shard_count, build_demo_zip())
        self.terraform = Terraform(copy, endpoint, self.settings)
        self.stack: Stack | None = None

    def deploy(self) -> Stack:
        self.terraform.init()
        self.stack = Stack(endpoint=self.endpoint, outputs=self.terraform.apply(), settings=self.settings)
        return self.stack

    def destroy(self) -> None:
        """Destroy what Terraform created; safe to call more than once."""
        if self.terraform.state_resources():
            self.terraform.destroy()

    def leftovers(self) -> list[str]:
        """Everything named after this deployment's prefix that LocalStack still has."""
        stack = Stack(self.endpoint, {}, self.settings)
        prefix = self.prefix
        found: list[str] = []
        found += [
            f"stream {n}"
            for n in stack.client("kinesis").list_streams()["StreamNames"]
            if n.startswith(prefix)
        ]
        functions = stack.client("lambda").list_functions()["Functions"]
        found += [f"function {f['FunctionName']}" for f in functions if f["FunctionName"].startswith(prefix)]
        mappings = stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        found += [
            f"mapping {m['UUID']}" for m in mappings if f":function:{prefix}" in m.get("FunctionArn", "")
        ]
        found += [
            f"queue {u}" for u in stack.client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
        ]
        groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")[
            "logGroups"
        ]
        found += [f"log group {g['logGroupName']}" for g in groups]
        alarms = stack.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
        found += [f"alarm {a['AlarmName']}" for a in alarms]
        dashboards = stack.client("cloudwatch").list_dashboards(DashboardNamePrefix=prefix)[
            "DashboardEntries"
        ]
        found += [f"dashboard {d['DashboardName']}" for d in dashboards]
        found += [
            f"role {r['RoleName']}"
            for r in stack.client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(prefix)
        ]
        found += [
            f"bucket {b['Name']}"
            for b in stack.client("s3").list_buckets()["Buckets"]
            if b["Name"].startswith(prefix)
        ]
        aliases = stack.client("kms").list_aliases()["Aliases"]
        found += [f"key alias {a['AliasName']}" for a in aliases if a["AliasName"] == f"alias/{prefix}"]
        return found


@contextmanager
def deployed_stack(endpoint: str, workdir: Path, shard_count: int = 4) -> Iterator[Stack]:
    """A deployed examples/complete for the duration of a ``with`` block."""
    deployment = Deployment(endpoint, workdir, shard_count)
    try:
        yield deployment.deploy()
    finally:
        deployment.destroy()


def crash_record(partition_key: str = "crash") -> Any:
    """A record the demo handler dies on (see demo_handler)."""
    from shardsafe.cli.generate import ProducerRecord

    return ProducerRecord(data=demo_handler.CRASH_PAYLOAD, partition_key=partition_key, kind=CRASH_KIND)


def manifest_records(produced: Iterable[Any]) -> list[ManifestRecord]:
    """ManifestRecords from the producer's result records (those that were put)."""
    return [
        ManifestRecord.from_manifest(json.loads(record.manifest_line())) for record in produced if record.ok
    ]


def recover_failure_batches(
    stack: Stack, batches: Iterable[FailureBatch], out: Path | None = None
) -> list[Any]:
    """The records behind Lambda's on-failure messages, re-read from the stream by ``shardsafe redrive``'s
    recovery (optionally appended to ``out`` as JSON Lines, as ``redrive --to-file`` writes them)."""
    from shardsafe.cli.messages import ReceivedMessage, parse_failure_message
    from shardsafe.cli.redrive import FileTarget, recover

    recovered = []
    kinesis = stack.client("kinesis")
    for batch in batches:
        message = ReceivedMessage(batch.message_id, "", json.dumps(batch.body), {})
        recovery = recover(kinesis, parse_failure_message(message))
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
            return result, time.monotonic() - started
        time.sleep(poll_interval_s)
