"""Batch metrics as CloudWatch Embedded Metric Format: one JSON line per batch, no API call.

Namespace ``SHARDSAFE_METRICS_NAMESPACE`` (default ``shardsafe``), dimension ``FunctionName``;
metrics ``RecordsProcessed``, ``RecordsSkipped`` (done already: idempotency), ``RecordsQuarantined``,
``RecordsHandedBack`` (returned to Lambda to retry), ``AggregatedRecords`` (KPL aggregates read as their
user records) and ``UserRecords`` (the user records those held; each also counts in the four above)
(Count) and ``BatchDuration`` (Milliseconds). The Terraform module's alarms and dashboard read these.

A sink of your own has the one method of :class:`MetricsSink`.
"""

from __future__ import annotations

import os
import time

from shardsafe.core.telemetry import logs

NAMESPACE_ENV = "SHARDSAFE_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "shardsafe"
_METRICS = (
    ("RecordsProcessed", "Count"),
    ("RecordsSkipped", "Count"),
    ("RecordsQuarantined", "Count"),
    ("RecordsHandedBack", "Count"),
    ("AggregatedRecords", "Count"),
    ("UserRecords", "Count"),
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
        skipped: int,
        quarantined: int,
        handed_back: int,
        duration_ms: float,
        function_name: str | None,
        aggregated_records: int = 0,
        user_records: int = 0,
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
                "RecordsSkipped": skipped,
                "RecordsQuarantined": quarantined,
                "RecordsHandedBack": handed_back,
                "AggregatedRecords": aggregated_records,
                "UserRecords": user_records,
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
        skipped: int,
        quarantined: int,
        handed_back: int,
        duration_ms: float,
        function_name: str | None,
        aggregated_records: int = 0,
        user_records: int = 0,
    ) -> None:
        self.batches.append(
            {
                "RecordsProcessed": processed,
                "RecordsSkipped": skipped,
                "RecordsQuarantined": quarantined,
                "RecordsHandedBack": handed_back,
                "AggregatedRecords": aggregated_records,
                "UserRecords": user_records,
                "BatchDuration": duration_ms,
                "FunctionName": function_name,
            }
        )
