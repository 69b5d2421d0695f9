"""Test load: stock ticks and temperature readings, with a mix of poison records.

Everything comes from one seeded `random.Random`, so a seed gives the same records on every run.
The poison kinds, and how each is made, are the catalogue's (`shardsafe.ops.produce.kinds`).

    records = list(generate_records(100, shape="stock", poison=0.05, seed=7))
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.kinds import GOOD, KINDS, POISON_KINDS

__all__ = [
    "SEEDED_START",
    "SHAPES",
    "ProducerRecord",
    "generate_records",
    "mix_poison",
    "parse_poison_fraction",
    "parse_poison_kinds",
    "parse_share",
]

Shape = Literal["stock", "temperature"]
SHAPES: tuple[Shape, ...] = ("stock", "temperature")
TICKERS = ("AAPL", "AMZN", "MSFT", "INTC", "TBV", "NVDA", "GOOG", "META")
# With a seed, timestamps start here instead of now, so the bytes repeat run after run.
SEEDED_START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ProducerRecord:
    """A record to put: its bytes, its partition key and what it is ("good" or a poison kind)."""

    data: bytes
    partition_key: str
    kind: str = GOOD
    #: Put on its own even when the others are packed into KPL aggregates (``produce(aggregate=...)``).
    alone: bool = False


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
        raise InputError(f"count {count} is negative: give the number of records to put, 0 or more")
    if keys < 1:
        raise InputError(f"keys {keys} must be at least 1: the number of distinct partition keys")
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
        raise InputError(f"poison fraction {fraction} is outside 0..1")
    unknown = sorted(set(kinds) - set(POISON_KINDS))
    if unknown or not kinds:
        raise InputError(f"poison kinds {list(kinds)} must be among {', '.join(POISON_KINDS)}")
    rng = rng or random.Random()  # noqa: S311 - test load
    phase = rng.random()
    cycle: list[str] = []
    for index, record in enumerate(records):
        if int((index + 1) * fraction + phase) > int(index * fraction + phase):
            if not cycle:
                cycle = list(kinds)
                rng.shuffle(cycle)
            kind = cycle.pop()
            yield replace(record, data=KINDS[kind].make(record.data, rng), kind=kind)
        else:
            yield record


def parse_poison_fraction(text: str) -> float:
    """``"5%"`` or ``"0.05"`` as a fraction of the records; anything else is an `InputError`."""
    return parse_share("--poison", text)


def parse_share(option: str, text: str) -> float:
    """``"5%"`` or ``"0.05"`` given to ``option`` as a fraction of the records; anything else is an
    `InputError` naming the option."""
    value = text.strip()
    try:
        fraction = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a share: write a percentage like 5% or a fraction like 0.05"
        ) from None
    if not value.endswith("%") and fraction > 1:
        raise InputError(
            f"{option} {text!r} is more than 1: write {value}% for a percentage, or a fraction 0..1"
        )
    if not 0.0 <= fraction <= 1.0:
        raise InputError(
            f"{option} {text!r} is outside 0%..100%: give a share of the records between 0% and 100%"
        )
    return fraction


def parse_poison_kinds(text: str) -> tuple[str, ...]:
    """A comma-separated list of poison kinds, checked against `POISON_KINDS`."""
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in POISON_KINDS]
    if unknown or not kinds:
        raise InputError(
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
