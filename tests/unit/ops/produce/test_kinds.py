"""The catalogue of poison kinds: well-formed entries, and a clear error for a kind it does not have."""

from __future__ import annotations

import random

import pytest

from shardsafe import reasons
from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.kinds import GOOD, KINDS, POISON_KINDS, poison_kind


def test_every_kind_names_a_reason_the_handler_gives_and_says_what_it_is():
    assert tuple(KINDS) == POISON_KINDS and GOOD not in KINDS
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.reason in reasons.ALL
        assert kind.description and "\n" not in kind.description


@pytest.mark.parametrize("name", POISON_KINDS)
def test_each_kind_is_made_the_same_way_from_the_same_seed(name):
    good = b'{"EVENT_TIME": "2025-01-01T00:00:00.000Z", "TICKER": "AAPL", "PRICE": 12.5}'
    made = [poison_kind(name).make(good, random.Random(4)) for _ in range(2)]

    assert made[0] == made[1] != good


def test_an_unknown_kind_is_refused_with_the_kinds_there_are():
    with pytest.raises(InputError, match=r"unknown poison kind 'crash'; choose from binary, invalid_utf8"):
        poison_kind("crash")
