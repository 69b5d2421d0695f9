"""The catalogue of poison kinds the producer makes: what each is, how it is made, and what the handler does.

One entry per kind is all a new kind needs: the producer (`shardsafe.ops.produce.generate`) makes it, and
tests/functional/test_poison_kinds.py runs every kind through the template handler (templates/handler.py)
and checks the reason it is quarantined with and whether its bytes travel inline, as written here.

    kind = KINDS["truncated_json"]
    bad = kind.make(b'{"TICKER": "AAPL"}', random.Random(1))   # reason: kind.reason == "invalid_json"
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shardsafe.core import reasons
from shardsafe.ops.errors import InputError

__all__ = ["GOOD", "KINDS", "OVERSIZED_BYTES", "POISON_KINDS", "PoisonKind", "poison_kind"]

GOOD = "good"
"""The kind of a record that is not poison."""

OVERSIZED_BYTES = 900 * 1024
"""The "oversized" kind's size: its envelope is over SQS's 1 MiB message limit (base64 adds a third),
the record under Kinesis's 1 MiB record limit."""


@dataclass(frozen=True)
class PoisonKind:
    """One kind of bad record."""

    name: str
    description: str
    make: Callable[[bytes, random.Random], bytes]
    """The poison, from the good record it replaces (and the producer's seeded random)."""
    reason: str
    """The reason (`shardsafe.core.reasons`) templates/handler.py quarantines it with."""
    payload_inline: bool
    """Whether its quarantine envelope carries its exact bytes; if not, they are too big for a message
    and are kept in S3, the envelope carrying a claim check (`shardsafe.core.quarantine.claimcheck`)."""


def _binary(good: bytes, rng: random.Random) -> bytes:
    # Starts with a byte that can never begin UTF-8, so it never decodes as text by chance.
    return b"\xff" + rng.randbytes(rng.randrange(16, 256))


def _invalid_utf8(good: bytes, rng: random.Random) -> bytes:
    bad = b'"\xc3\x28\xff"'
    return good[:-1] + b', "NOTE": ' + bad + b"}" if good.endswith(b"}") else bad


def _truncated_json(good: bytes, rng: random.Random) -> bytes:
    """A prefix of the record that does not parse (a cut scalar like ``12`` of ``123`` would)."""
    cut = good[: rng.randrange(1, max(2, len(good) - 1))]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return b'{"' + cut


def _not_an_object(good: bytes, rng: random.Random) -> bytes:
    return b"[" + good + b"]"


def _schema_violation(good: bytes, rng: random.Random) -> bytes:
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


def _empty(good: bytes, rng: random.Random) -> bytes:
    return b""


def _oversized(good: bytes, rng: random.Random) -> bytes:
    # Unterminated string: bad JSON under any schema, and too big for an SQS message once in base64.
    prefix = b'{"NOTE": "'
    return prefix + b"x" * (OVERSIZED_BYTES - len(prefix))


_CATALOGUE = (
    PoisonKind("binary", "random bytes: not text at all", _binary, reasons.INVALID_UTF8, True),
    PoisonKind(
        "invalid_utf8",
        "JSON text with a byte sequence that is not UTF-8",
        _invalid_utf8,
        reasons.INVALID_UTF8,
        True,
    ),
    PoisonKind("truncated_json", "a good record cut short", _truncated_json, reasons.INVALID_JSON, True),
    PoisonKind("not_an_object", "valid JSON, but an array", _not_an_object, reasons.NOT_AN_OBJECT, True),
    PoisonKind(
        "schema_violation",
        "a JSON object with a field missing or of the wrong type",
        _schema_violation,
        reasons.VALIDATION_ERROR,
        True,
    ),
    PoisonKind("empty", "zero bytes", _empty, reasons.EMPTY, True),
    PoisonKind(
        "oversized",
        "900 KiB of bad JSON: too big for a quarantine message (1 MiB), kept in S3 by a claim check",
        _oversized,
        reasons.INVALID_JSON,
        False,
    ),
)

KINDS: Mapping[str, PoisonKind] = MappingProxyType({kind.name: kind for kind in _CATALOGUE})
"""Every poison kind by name, in the catalogue's order."""

POISON_KINDS: tuple[str, ...] = tuple(KINDS)
"""The names of every poison kind, in the catalogue's order."""


def poison_kind(name: str) -> PoisonKind:
    """The catalogue's entry for ``name``; `InputError` naming the kinds there are when there is none."""
    try:
        return KINDS[name]
    except KeyError:
        raise InputError(f"unknown poison kind {name!r}; choose from {', '.join(POISON_KINDS)}") from None
