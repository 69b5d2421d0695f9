"""Records from a JSON Lines file (or stdin) to put as they are, each with a partition key."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.generate import ProducerRecord

__all__ = ["read_jsonl"]


def read_jsonl(
    source: Path | BinaryIO,
    *,
    keys: int = 16,
    key_field: str | None = None,
    seed: int | None = None,
) -> Iterator[ProducerRecord]:
    """Records from a JSON Lines file (or a byte stream such as stdin), one per non-blank line.

    Each line's bytes, without surrounding whitespace, are put as they are. The partition key is the
    line's ``key_field`` when given, else one of ``keys`` keys. A line that is not JSON is an `InputError`
    naming it; the whole input is checked before the first record is returned, so bad input puts nothing.
    """
    name = str(source) if isinstance(source, Path) else str(getattr(source, "name", "input"))
    try:
        text = source.read_bytes() if isinstance(source, Path) else source.read()
    except OSError as exc:
        raise InputError(
            f"cannot read --input {name}: {exc}; give a readable JSON Lines file, or - for stdin"
        ) from exc
    rng = random.Random(seed)  # noqa: S311 - key spread, reproducible on purpose
    records: list[ProducerRecord] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise InputError(
                f"{name} line {number} is not JSON ({exc}): each line must be one JSON value; fix or remove it"
            ) from exc
        if key_field is None:
            key = f"pk-{rng.randrange(keys):04d}"
        elif isinstance(value, dict) and value.get(key_field) not in (None, ""):
            key = str(value[key_field])
        else:
            raise InputError(
                f"{name} line {number} has no field {key_field!r} for the partition key: "
                "add it, or drop --key-field to spread records over --keys keys"
            )
        records.append(ProducerRecord(line, key))
    return iter(records)
