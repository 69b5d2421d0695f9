"""Batch metrics as CloudWatch Embedded Metric Format: one JSON line per batch, no API call.

Namespace ``SHARDSAFE_METRICS_NAMESPACE`` (default ``shardsafe``), dimension ``FunctionName``;
metrics ``RecordsProcessed``, ``RecordsQuarantined``, ``RecordsRetried`` (Count) and
``BatchDuration`` (Milliseconds). The Terraform module's alarms read exactly these.
"""

from __future__ import annotations

import os
import time

from shardsafe.core.telemetry import logs

NAMESPACE_ENV = "SHARDSAFE_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "shardsafe"
_METRICS = (
    ("RecordsProcessed", "Count"),
    ("RecordsQuarantined", "Count"),
    ("RecordsRetried", "Count"),
    ("BatchDuration", "Milliseconds"),
)


class EmfMetrics:
    """Writes each batch's metrics as an EMF document on stdout, where Lambda ships it to CloudWatch."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace

    def record_batch(
        self,
        *,
        processed: int,
        quarantined: int,
        retried: int,
        duration_ms: float,
        function_name: str | None,
    ) -> None:
        namespace = self.namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
        logs.emit_document(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [["FunctionName"]],
                            "Metrics": [{"Name": name, "Unit": unit} for name, unit in _METRICS],
                        }
                    ],
                },
                "FunctionName": function_name or "unknown",
                "RecordsProcessed": processed,
                "RecordsQuarantined": quarantined,
                "RecordsRetried": retried,
                "BatchDuration": round(duration_ms, 3),
            }
        )


class MemoryMetrics:
    """Keeps every batch's metrics in ``batches``: for tests and benchmarks."""

    def __init__(self) -> None:
        self.batches: list[dict[str, object]] = []

    def record_batch(
        self,
        *,
        processed: int,
        quarantined: int,
        retried: int,
        duration_ms: float,
        function_name: str | None,
    ) -> None:
        self.batches.append(
            {
                "RecordsProcessed": processed,
                "RecordsQuarantined": quarantined,
                "RecordsRetried": retried,
                "BatchDuration": duration_ms,
                "FunctionName": function_name,
            }
        )
