"""Test load: stock ticks and temperature readings, with a mix of poison records.

Everything comes from one seeded `random.Random`, so a seed gives the same records on every run.

    records = list(generate_records(100, shape="stock", poison=0.05, seed=7))
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shardsafe.cli.errors import CliError

__all__ = [
    "GOOD",
    "OVERSIZED_BYTES",
    "POISON_KINDS",
    "SEEDED_START",
    "SHAPES",
    "ProducerRecord",
    "generate_records",
    "mix_poison",
    "parse_poison_fraction",
    "parse_poison_kinds",
]

Shape = Literal["stock", "temperature"]
SHAPES: tuple[Shape, ...] = ("stock", "temperature")
GOOD = "good"
POISON_KINDS = (
    "binary",  # random bytes: not text at all
    "invalid_utf8",  # JSON text with a byte sequence that is not UTF-8
    "truncated_json",  # a good record cut short
    "not_an_object",  # valid JSON, but an array
    "schema_violation",  # a JSON object with missing or mistyped fields
    "empty",  # zero bytes
    "oversized",  # 300 KiB of bad JSON: too big to quarantine inline in SQS (256 KiB)
)
OVERSIZED_BYTES = 300 * 1024
TICKERS = ("AAPL", "AMZN", "MSFT", "INTC", "TBV", "NVDA", "GOOG", "META")
# With a seed, timestamps start here instead of now, so the bytes repeat run after run.
SEEDED_START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ProducerRecord:
    """A record to put: its bytes, its partition key and what it is ("good" or a poison kind)."""

    data: bytes
    partition_key: str
    kind: str = GOOD


def generate_records(
    count: int,
    *,
    shape: Shape = "stock",
    keys: int = 16,
    poison: float = 0.0,
    poison_kinds: Sequence[str] = POISON_KINDS,
    seed: int | None = None,
    start: datetime | None = None,
) -> Iterator[ProducerRecord]:
    """``count`` generated records over ``keys`` partition keys, ``poison`` of them bad."""
    if count < 0:
        raise CliError(f"count {count} is negative: give the number of records to put, 0 or more")
    if keys < 1:
        raise CliError(f"keys {keys} must be at least 1: the number of distinct partition keys")
    rng = random.Random(seed)  # noqa: S311 - test load, reproducible on purpose
    first = start or (SEEDED_START if seed is not None else datetime.now(UTC))
    good = (_good_record(shape, i, first, keys, rng) for i in range(count))
    return mix_poison(good, poison, poison_kinds, rng)


def mix_poison(
    records: Iterable[ProducerRecord],
    fraction: float,
    kinds: Sequence[str] = POISON_KINDS,
    rng: random.Random | None = None,
) -> Iterator[ProducerRecord]:
    """Replace ``fraction`` of the records (to within one) by poison, kinds taken in turn.

    Poison keeps the partition key of the record it replaces. Positions are spread evenly with
    a random phase; the kinds cycle through a shuffled order, reshuffled every round.
    """
    if not 0.0 <= fraction <= 1.0:
        raise CliError(f"poison fraction {fraction} is outside 0..1")
    unknown = sorted(set(kinds) - set(POISON_KINDS))
    if unknown or not kinds:
        raise CliError(f"poison kinds {list(kinds)} must be among {', '.join(POISON_KINDS)}")
    rng = rng or random.Random()  # noqa: S311 - test load
    phase = rng.random()
    cycle: list[str] = []
    for index, record in enumerate(records):
        if int((index + 1) * fraction + phase) > int(index * fraction + phase):
            if not cycle:
                cycle = list(kinds)
                rng.shuffle(cycle)
            kind = cycle.pop()
            yield replace(record, data=_poison(kind, record.data, rng), kind=kind)
        else:
            yield record


def parse_poison_fraction(text: str) -> float:
    """``"5%"`` or ``"0.05"`` as a fraction of the records; anything else is a `CliError`."""
    value = text.strip()
    try:
        fraction = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise CliError(
            f"--poison {text!r} is not a share: write a percentage like 5% or a fraction like 0.05"
        ) from None
    if not value.endswith("%") and fraction > 1:
        raise CliError(
            f"--poison {text!r} is more than 1: write {value}% for a percentage, or a fraction 0..1"
        )
    if not 0.0 <= fraction <= 1.0:
        raise CliError(
            f"--poison {text!r} is outside 0%..100%: give a share of the records between 0% and 100%"
        )
    return fraction


def parse_poison_kinds(text: str) -> tuple[str, ...]:
    """A comma-separated list of poison kinds, checked against `POISON_KINDS`."""
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in POISON_KINDS]
    if unknown or not kinds:
        raise CliError(
            f"--poison-kinds {text!r}: unknown kind {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(POISON_KINDS)}"
        )
    return kinds


def _good_record(shape: Shape, index: int, start: datetime, keys: int, rng: random.Random) -> ProducerRecord:
    at = (
        (start + timedelta(milliseconds=100 * index))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
    body: dict[str, Any]
    if shape == "stock":
        body = {"EVENT_TIME": at, "TICKER": rng.choice(TICKERS), "PRICE": round(rng.uniform(1, 500), 2)}
    else:
        body = {
            "ID": f"sensor-{rng.randrange(100):03d}",
            "Tmp": round(rng.uniform(-10, 40), 1),
            "TimeStamp": at,
        }
    key = f"pk-{rng.randrange(keys):04d}"
    return ProducerRecord(json.dumps(body).encode(), key)


def _poison(kind: str, good: bytes, rng: random.Random) -> bytes:
    if kind == "binary":
        # Starts with a byte that can never begin UTF-8, so it never decodes as text by chance.
        return b"\xff" + rng.randbytes(rng.randrange(16, 256))
    if kind == "invalid_utf8":
        bad = b'"\xc3\x28\xff"'
        return good[:-1] + b', "NOTE": ' + bad + b"}" if good.endswith(b"}") else bad
    if kind == "truncated_json":
        return _truncate(good, rng)
    if kind == "not_an_object":
        return b"[" + good + b"]"
    if kind == "schema_violation":
        return _violate_schema(good, rng)
    if kind == "empty":
        return b""
    if kind == "oversized":
        # Unterminated string: bad JSON under any schema, and far over SQS's 256 KiB.
        prefix = b'{"NOTE": "'
        return prefix + b"x" * (OVERSIZED_BYTES - len(prefix))
    raise CliError(f"unknown poison kind {kind!r}; choose from {', '.join(POISON_KINDS)}")


def _truncate(good: bytes, rng: random.Random) -> bytes:
    """A prefix of the record that does not parse (a cut scalar like ``12`` of ``123`` would)."""
    cut = good[: rng.randrange(1, max(2, len(good) - 1))]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return b'{"' + cut


def _violate_schema(good: bytes, rng: random.Random) -> bytes:
    """The same object with one field dropped or given a value of the wrong type."""
    try:
        body = json.loads(good)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body:
        return json.dumps({"unexpected": True}).encode()
    field = rng.choice(sorted(body))
    if rng.random() < 0.5:
        del body[field]
    else:
        body[field] = None if isinstance(body[field], str) else "not-a-number"
    return json.dumps(body).encode()
