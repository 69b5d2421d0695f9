"""Helpers for the end-to-end tests of the deployed pipeline (the fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

from shardsafe_harness.accounting import Coordinates, ManifestRecord, Reconciliation
from shardsafe_harness.logs import log_messages as read_log_group
from shardsafe_harness.stack import Stack

from shardsafe.ops.produce import ProduceResult, ProducerRecord


@dataclass
class FedPipeline:
    """The load put on the stack, and where each record ended up."""

    stack: Stack
    offered: list[ProducerRecord]
    result: ProduceResult
    manifest: list[ManifestRecord]
    reconciliation: Reconciliation

    def data_at(self, coordinates: Coordinates) -> bytes:
        for produced, offered in zip(self.result.records, self.offered, strict=True):
            if (produced.shard_id, int(produced.sequence_number or -1)) == coordinates:
                return offered.data
        raise KeyError(coordinates)


def log_messages(stack: Stack) -> list[str]:
    """Every message in the function's log group, in order."""
    return read_log_group(stack.client("logs"), stack.outputs["log_group_name"])
