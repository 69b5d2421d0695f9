"""Generated test load: deterministic with a seed, with the requested share of each poison kind."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardsafe.ops.errors import InputError
from shardsafe.ops.produce.generate import (
    ProducerRecord,
    generate_records,
    mix_poison,
    parse_poison_fraction,
    parse_poison_kinds,
)
from shardsafe.ops.produce.kinds import GOOD, OVERSIZED_BYTES, POISON_KINDS

SQS_MAX_MESSAGE = 1024 * 1024
KINESIS_MAX_RECORD = 1024 * 1024
STOCK = {"EVENT_TIME": str, "TICKER": str, "PRICE": (int, float)}
TEMPERATURE = {"ID": str, "Tmp": (int, float), "TimeStamp": str}


def fits(schema: dict[str, type | tuple[type, ...]], data: bytes) -> bool:
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:
        return False
    return isinstance(body, dict) and all(
        name in body and isinstance(body[name], kind) and not isinstance(body[name], bool)
        for name, kind in schema.items()
    )


def test_same_seed_gives_the_same_records_and_another_seed_others():
    first = list(generate_records(200, poison=0.1, seed=42))
    again = list(generate_records(200, poison=0.1, seed=42))
    other = list(generate_records(200, poison=0.1, seed=43))

    assert first == again
    assert first != other


@pytest.mark.parametrize(("shape", "schema"), [("stock", STOCK), ("temperature", TEMPERATURE)])
def test_good_records_fit_their_schema(shape, schema):
    records = list(generate_records(50, shape=shape, seed=1))

    assert all(r.kind == GOOD and fits(schema, r.data) for r in records)


def test_stock_ticks_look_like_the_seed_data():
    tick = json.loads(next(generate_records(1, seed=1)).data)

    assert tick["TICKER"].isupper() and tick["TICKER"].isalpha()
    assert tick["EVENT_TIME"].startswith("2025-01-01T00:00:00")
    assert tick["PRICE"] > 0


def test_partition_keys_spread_over_the_requested_number_of_keys():
    keys = Counter(r.partition_key for r in generate_records(2000, keys=8, seed=3))

    assert len(keys) == 8
    assert min(keys.values()) > 150


@given(count=st.integers(0, 3000), fraction=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_poison_share_is_exact_to_within_one_record(count, fraction, seed):
    poison = sum(r.kind != GOOD for r in generate_records(count, poison=fraction, seed=seed, keys=4))

    assert abs(poison - count * fraction) <= 1


def test_poison_kinds_are_spread_evenly():
    kinds = Counter(r.kind for r in generate_records(1400, poison=0.5, seed=9) if r.kind != GOOD)

    assert set(kinds) == set(POISON_KINDS)
    assert max(kinds.values()) - min(kinds.values()) <= 1


def test_only_the_chosen_poison_kinds_appear():
    kinds = {r.kind for r in generate_records(100, poison=0.5, poison_kinds=("empty", "binary"), seed=2)}

    assert kinds == {GOOD, "empty", "binary"}


def poison_of(kind: str, shape: str = "stock") -> list[ProducerRecord]:
    return list(generate_records(40, shape=shape, poison=1.0, poison_kinds=(kind,), seed=5))


def undecodable(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def unparsable(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("shape", ["stock", "temperature"])
def test_every_poison_kind_is_really_bad(shape):
    schema = STOCK if shape == "stock" else TEMPERATURE
    assert all(undecodable(r.data) for r in poison_of("binary", shape))
    assert all(undecodable(r.data) for r in poison_of("invalid_utf8", shape))
    assert all(unparsable(r.data) for r in poison_of("truncated_json", shape))
    assert all(not isinstance(json.loads(r.data), dict) for r in poison_of("not_an_object", shape))
    assert all(
        not fits(schema, r.data) and not unparsable(r.data) for r in poison_of("schema_violation", shape)
    )
    assert all(r.data == b"" for r in poison_of("empty", shape))


def test_oversized_poison_is_too_big_for_sqs_but_fits_a_kinesis_record():
    for record in poison_of("oversized"):
        # between 750 KiB and 1 MiB; in base64, as an envelope carries it, over SQS's 1 MiB message
        assert 750 * 1024 < len(record.data) == OVERSIZED_BYTES < KINESIS_MAX_RECORD
        assert len(record.data) * 4 / 3 > SQS_MAX_MESSAGE
        assert unparsable(record.data)


def test_poison_keeps_the_partition_key_of_the_record_it_replaces():
    good = [ProducerRecord(b'{"a": 1}', f"key-{i}") for i in range(10)]

    mixed = list(mix_poison(good, 1.0, ("truncated_json",)))

    assert [r.partition_key for r in mixed] == [r.partition_key for r in good]


def test_truncating_a_scalar_never_leaves_valid_json():
    mixed = list(mix_poison([ProducerRecord(b"12345", "k")] * 50, 1.0, ("truncated_json",)))

    assert all(unparsable(r.data) for r in mixed)


@pytest.mark.parametrize(
    ("text", "fraction"), [("5%", 0.05), ("0.05", 0.05), ("0", 0.0), ("100%", 1.0), (" 12.5% ", 0.125)]
)
def test_poison_share_is_read_as_a_percentage_or_a_fraction(text, fraction):
    assert parse_poison_fraction(text) == pytest.approx(fraction)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("150%", "between 0% and 100%"),
        ("-5%", "between 0% and 100%"),
        ("5", "write 5% for a percentage"),
        ("lots", "percentage like 5%"),
    ],
)
def test_bad_poison_share_is_refused_with_the_value_and_the_fix(text, says):
    with pytest.raises(InputError) as error:
        parse_poison_fraction(text)

    assert repr(text) in str(error.value)
    assert says in str(error.value)


def test_unknown_poison_kind_is_refused_with_the_choices():
    with pytest.raises(InputError, match=r"unknown kind crash; choose from binary,"):
        parse_poison_kinds("empty,crash")


def test_negative_count_is_refused():
    with pytest.raises(InputError, match="count -1 is negative"):
        generate_records(-1)
