"""Synthetic Kinesis events: JSON records of a given size, a given share of them poison.

A record is a stock tick padded with order lines to the target size, so the JSON has the many
small values real records have rather than one long string. A poison record is the same JSON cut
short by one byte (a truncated write): it costs a decoder as much as a good one and fails at the end.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from shardsafe_harness import events

#: One order line of padding: about 45 bytes of JSON.
_LINE = {"SKU": "SKU-00000", "QTY": 3, "PRICE": 12.5}


def payload(size: int, n: int = 0) -> bytes:
    """A JSON object of about ``size`` bytes (never less than a bare tick)."""
    document: dict[str, Any] = {
        "EVENT_TIME": f"2024-01-01T00:00:{n % 60:02d}.000",
        "TICKER": "AMZN",
        "PRICE": 100.0 + n % 100,
        "LINES": [],
    }
    text = json.dumps(document, separators=(",", ":"))
    line_size = len(json.dumps(_LINE, separators=(",", ":"))) + 1
    count = max(0, (size - len(text)) // line_size)
    document["LINES"] = [dict(_LINE, SKU=f"SKU-{(n + i) % 100000:05d}") for i in range(count)]
    return json.dumps(document, separators=(",", ":")).encode()


def poison_indices(batch_size: int, poison_rate: float, seed: int = 7) -> set[int]:
    """Which records of a batch are poison: ``round(batch_size * poison_rate)`` of them, spread at random."""
    count = round(batch_size * poison_rate)
    return set(random.Random(seed).sample(range(batch_size), count))  # noqa: S311 - a spread, not a secret


def kinesis_record(data: bytes, sequence: int) -> dict[str, Any]:
    """A record shaped like what Lambda hands a Kinesis function (the tests' shape: one builder)."""
    return events.kinesis_record(data, sequence=sequence, partition_key=f"pk-{sequence % 16}")


def kinesis_event(batch_size: int, record_size: int, poison_rate: float = 0.0) -> dict[str, Any]:
    """A Kinesis event of ``batch_size`` records of about ``record_size`` bytes each.

    Distinct payloads would only change which bytes are parsed, so 16 are made and reused.
    """
    good = [payload(record_size, n) for n in range(16)]
    poison = poison_indices(batch_size, poison_rate)
    records = []
    for index in range(batch_size):
        data = good[index % len(good)]
        records.append(kinesis_record(data[:-1] if index in poison else data, index))
    return {"Records": records}


def payload_bytes(event: dict[str, Any]) -> int:
    """The decoded size of every record's data: what the batch carries."""
    return sum(len(base64.b64decode(record["kinesis"]["data"])) for record in event["Records"])
