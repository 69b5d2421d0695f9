"""Where recovered records go: appended to a JSON Lines file, or re-put on a stream.

A target says, record by record, whether each is safely written; a message is deleted only when all
of its records are (`shardsafe.redrive.decide`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from shardsafe.produce.putter import PutEntry, put_entries
from shardsafe.redrive.recovery import RecoveredRecord

__all__ = ["FileTarget", "StreamTarget", "Target"]


class Target(Protocol):
    """Where recovered records go. ``write`` says, per record, whether it is safely written."""

    @property
    def description(self) -> str: ...

    @property
    def puts_to_stream(self) -> bool: ...

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]: ...


class FileTarget:
    """Appends records as JSON Lines (base64 ``data`` plus coordinates) and fsyncs before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file {path}"
        self.puts_to_stream = False

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        with self.path.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record.to_json()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return [True] * len(records)


class StreamTarget:
    """Re-puts records with their original partition keys, in order per key.

    Records go back to the stream they came from, or to ``stream`` when given.
    """

    def __init__(self, client: Any, stream: str | None = None, *, max_attempts: int = 8) -> None:
        self.client = client
        self.stream = stream
        self.max_attempts = max_attempts
        self.puts_to_stream = True
        self.description = f"stream {stream}" if stream else "the streams the records came from"

    def write(self, records: Sequence[RecoveredRecord]) -> list[bool]:
        written = [False] * len(records)
        by_stream: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            by_stream.setdefault(self.stream or record.stream_arn, []).append(index)
        for stream, indexes in by_stream.items():
            receipts = put_entries(
                self.client,
                stream,
                [PutEntry(records[i].data, records[i].partition_key) for i in indexes],
                keep_key_order=True,
                max_attempts=self.max_attempts,
            )
            for index, receipt in zip(indexes, receipts, strict=True):
                written[index] = receipt.ok
        return written
