"""PutRecords with Kinesis's limits and retry of the entries a call did not take.

A PutRecords call can succeed while some of its entries fail (throttling, internal errors);
those entries are sent again with exponential backoff until they go in or run out of attempts.
With ``keep_key_order`` a request carries at most one record per partition key and a key's next
record is only sent once the one before it is in, so per-key order survives retries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shardsafe.ops.aws import stream_ref

__all__ = [
    "MAX_PARTITION_KEY_CHARS",
    "MAX_RECORDS_PER_REQUEST",
    "MAX_RECORD_BYTES",
    "MAX_REQUEST_BYTES",
    "PutEntry",
    "PutReceipt",
    "entry_problem",
    "put_entries",
]

MAX_RECORDS_PER_REQUEST = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data plus partition key
MAX_PARTITION_KEY_CHARS = 256


@dataclass(frozen=True)
class PutEntry:
    """One record to put: its bytes, its partition key and, if it has one, its explicit hash key (a decimal
    128-bit number that picks the shard instead of the partition key's hash)."""

    data: bytes
    partition_key: str
    explicit_hash_key: str | None = None

    @property
    def size(self) -> int:
        """What the record counts against Kinesis's size limits."""
        return len(self.data) + len(self.partition_key.encode())


@dataclass(frozen=True)
class PutReceipt:
    """What happened to one entry: where it landed, or the last error it got."""

    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.sequence_number is not None


def entry_problem(entry: PutEntry) -> str | None:
    """Why Kinesis would reject this entry outright, or None."""
    if not 1 <= len(entry.partition_key) <= MAX_PARTITION_KEY_CHARS:
        return (
            f"partition key {entry.partition_key[:40]!r} is {len(entry.partition_key)} characters; "
            f"Kinesis takes 1 to {MAX_PARTITION_KEY_CHARS}"
        )
    if entry.size > MAX_RECORD_BYTES:
        return (
            f"record is {entry.size} bytes with its partition key; "
            f"Kinesis takes at most {MAX_RECORD_BYTES} (1 MiB) per record"
        )
    return None


def put_entries(
    client: Any,
    stream: str,
    entries: Sequence[PutEntry],
    *,
    keep_key_order: bool = False,
    max_attempts: int = 8,
    base_delay_s: float = 0.05,
    max_delay_s: float = 5.0,
    on_receipt: Callable[[int, PutReceipt], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> list[PutReceipt]:
    """Put every entry on ``stream`` (a name or an ARN); one receipt per entry, in entry order.

    Entries Kinesis cannot take (see `entry_problem`) fail without a call. ``on_receipt(index,
    receipt)`` is called as soon as an entry's fate is final, for progress and manifests.
    Errors of the call itself (stream not found, access denied) propagate.

        receipts = put_entries(kinesis, "ticks", [PutEntry(b'{"TICKER": "AAPL"}', "AAPL")])
        assert receipts[0].ok
    """
    jitter = rng or random.Random()  # noqa: S311 - backoff jitter
    receipts: list[PutReceipt | None] = [None] * len(entries)
    attempts = [0] * len(entries)

    def settle(index: int, receipt: PutReceipt) -> None:
        receipts[index] = receipt
        if on_receipt is not None:
            on_receipt(index, receipt)

    pending: list[int] = []
    for index, entry in enumerate(entries):
        if (problem := entry_problem(entry)) is not None:
            settle(index, PutReceipt(error_code="InvalidRecord", error_message=problem))
        else:
            pending.append(index)

    failed_rounds = 0
    while pending:
        request, held_back = _next_request(entries, pending, keep_key_order)
        response = client.put_records(
            **stream_ref(stream),
            Records=[_request_entry(entries[i]) for i in request],
        )
        retry: list[int] = []
        exhausted_keys: set[str] = set()
        for index, result in zip(request, response["Records"], strict=True):
            attempts[index] += 1
            if not result.get("ErrorCode"):
                settle(
                    index,
                    PutReceipt(
                        shard_id=result["ShardId"],
                        sequence_number=result["SequenceNumber"],
                        attempts=attempts[index],
                    ),
                )
            elif attempts[index] < max_attempts:
                retry.append(index)
            else:
                settle(
                    index,
                    PutReceipt(
                        error_code=result["ErrorCode"],
                        error_message=result.get("ErrorMessage"),
                        attempts=attempts[index],
                    ),
                )
                exhausted_keys.add(entries[index].partition_key)
        if keep_key_order and exhausted_keys:
            held_back = _drop_followers(entries, held_back, exhausted_keys, settle)
        pending = sorted(retry + held_back)
        if retry:
            failed_rounds += 1
            ceiling = min(max_delay_s, base_delay_s * 2 ** (failed_rounds - 1))
            sleep(jitter.uniform(ceiling / 2, ceiling))
        else:
            failed_rounds = 0
    return [receipt if receipt is not None else PutReceipt() for receipt in receipts]


def _request_entry(entry: PutEntry) -> dict[str, Any]:
    request: dict[str, Any] = {"Data": entry.data, "PartitionKey": entry.partition_key}
    if entry.explicit_hash_key is not None:
        request["ExplicitHashKey"] = entry.explicit_hash_key
    return request


def _next_request(
    entries: Sequence[PutEntry], pending: list[int], keep_key_order: bool
) -> tuple[list[int], list[int]]:
    """The indexes for the next call (within 500 records and 5 MiB) and those held back."""
    request: list[int] = []
    held_back: list[int] = []
    request_bytes = 0
    seen_keys: set[str] = set()
    for index in pending:
        entry = entries[index]
        fits = len(request) < MAX_RECORDS_PER_REQUEST and request_bytes + entry.size <= MAX_REQUEST_BYTES
        if keep_key_order:
            # A key whose earlier record waits must wait too, whether or not this one would fit.
            free = entry.partition_key not in seen_keys
            seen_keys.add(entry.partition_key)
            fits = fits and free
        if fits:
            request.append(index)
            request_bytes += entry.size
        else:
            held_back.append(index)
    return request, held_back


def _drop_followers(
    entries: Sequence[PutEntry],
    held_back: list[int],
    exhausted_keys: set[str],
    settle: Callable[[int, PutReceipt], None],
) -> list[int]:
    """Fail the records queued behind one that could not be put, so none overtakes it."""
    kept: list[int] = []
    for index in held_back:
        if entries[index].partition_key in exhausted_keys:
            settle(
                index,
                PutReceipt(
                    error_code="NotAttempted",
                    error_message="an earlier record with the same partition key could not be put",
                ),
            )
        else:
            kept.append(index)
    return kept
