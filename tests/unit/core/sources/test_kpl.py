"""The KPL aggregate reader and the expand step (shardsafe.core.sources.kpl), against three writers."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shardsafe.core import reasons
from shardsafe.core.sources import KINESIS, SOURCES, SQS, Batch, SqsRecord, by_name, read_event
from shardsafe.core.sources.kinesis import KinesisRecord
from shardsafe.core.sources.kpl import (
    KPL_BROKEN,
    KPL_USER,
    MAGIC,
    MAGIC_BASE64_PREFIX,
    AggregateError,
    deaggregate,
    expand,
    is_aggregate,
)
from tests import factories, kpl

partition_keys = st.text(min_size=1, max_size=20)
hash_keys = st.none() | st.integers(0, 2**128 - 1).map(str)
user_records = st.lists(
    st.tuples(partition_keys, hash_keys, st.binary(max_size=300)), min_size=1, max_size=30
)


@pytest.mark.parametrize("writer", sorted(kpl.WRITERS))
@given(records=user_records)
def test_every_writer_s_aggregate_reads_back_as_its_user_records(
    writer: str, records: list[tuple[str, str | None, bytes]]
) -> None:
    assert deaggregate(kpl.WRITERS[writer](records)) == records


@given(records=user_records)
def test_aws_kinesis_agg_reads_the_producer_s_aggregates_as_we_do(
    records: list[tuple[str, str | None, bytes]],
) -> None:
    """The producer's encoder, checked by AWS's own de-aggregator: the same user records, in order.

    (aws-kinesis-agg gives a user record without an explicit hash key the table's first one when
    the table has any, ``ehks[mr.explicit_hash_key_index]`` with the field's default 0: so hash keys are
    compared only where every record has one or none has.)
    """
    from aws_kinesis_agg.deaggregator import deaggregate_records

    from shardsafe.ops.produce.aggregate import encode_aggregate

    record = factories.kinesis_record(encode_aggregate(records))
    theirs = [
        (
            r["kinesis"]["partitionKey"],
            r["kinesis"]["explicitHashKey"],
            base64.b64decode(r["kinesis"]["data"]),
        )
        for r in deaggregate_records([record])
    ]
    assert deaggregate(encode_aggregate(records)) == records
    assert [(key, data) for key, _, data in theirs] == [(key, data) for key, _, data in records]
    hash_keys = [hash_key for _, hash_key, _ in records]
    if all(key is None for key in hash_keys) or None not in hash_keys:
        assert [hash_key for _, hash_key, _ in theirs] == hash_keys


def test_tags_and_unknown_fields_are_skipped_as_protobuf_skips_them() -> None:
    records = [("a", None, b"one"), ("b", "42", b"two")]
    message = kpl.protobuf_message(records, tags=True).SerializeToString()
    unknown = bytes([9 << 3 | 0, 7]) + bytes([10 << 3 | 5]) + b"\x00" * 4 + bytes([11 << 3 | 1]) + b"\x00" * 8
    assert deaggregate(kpl.frame(message + unknown)) == records


def test_the_magic_in_base64_starts_with_the_prefix_the_hot_path_checks() -> None:
    assert base64.b64encode(MAGIC + b"anything").decode().startswith(MAGIC_BASE64_PREFIX)
    assert is_aggregate(MAGIC + b"x") and not is_aggregate(b'{"x": 1}')


def test_a_wrong_md5_is_a_bad_checksum() -> None:
    good = kpl.protobuf_aggregate([("a", None, b"x")])
    with pytest.raises(AggregateError) as raised:
        deaggregate(good[:-1] + bytes([good[-1] ^ 1]))
    assert raised.value.reason == reasons.KPL_BAD_CHECKSUM


def _valid_md5(message: bytes) -> bytes:
    return MAGIC + message + hashlib.md5(message).digest()


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


UNREADABLE = {
    "too short for an MD5": MAGIC + b"\x00" * 10,
    "truncated protobuf": _valid_md5(_field(1, b"key")[:-1]),
    "a table field as a varint": _valid_md5(bytes([1 << 3 | 0, 5])),
    "no user record": _valid_md5(_field(1, b"key")),
    "no data": _valid_md5(_field(1, b"k") + _field(3, b"\x08\x00")),
    "no partition key index": _valid_md5(_field(1, b"k") + _field(3, _field(3, b"x"))),
    "partition key index outside the table": _valid_md5(
        _field(1, b"k") + _field(3, b"\x08\x01" + _field(3, b"x"))
    ),
    "hash key index outside the table": _valid_md5(
        _field(1, b"k") + _field(3, b"\x08\x00\x10\x00" + _field(3, b"x"))
    ),
    "a partition key that is not UTF-8": _valid_md5(
        _field(1, b"\xff") + _field(3, b"\x08\x00" + _field(3, b"x"))
    ),
    "data running past its record": _valid_md5(_field(1, b"k") + _field(3, b"\x08\x00\x1a\x09x")),
    "a varint longer than ten bytes": _valid_md5(b"\x08" + b"\xff" * 11),
    "a group wire type": _valid_md5(
        _field(1, b"k") + bytes([7 << 3 | 3, 1]) + _field(3, b"\x08\x00" + _field(3, b"x"))
    ),
    "field number 0": _valid_md5(bytes([0 << 3 | 2, 0])),
}


@pytest.mark.parametrize("data", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_what_breaks_the_proto_is_unreadable_never_a_crash(data: bytes) -> None:
    with pytest.raises(AggregateError) as raised:
        deaggregate(data)
    assert raised.value.reason == reasons.KPL_UNREADABLE
    assert raised.value.message


@given(st.binary(max_size=200))
def test_any_bytes_after_the_magic_either_read_or_are_rejected_with_a_reason(tail: bytes) -> None:
    for data in (MAGIC + tail, _valid_md5(tail)):
        try:
            records = deaggregate(data)
        except AggregateError as error:
            assert error.reason in (reasons.KPL_BAD_CHECKSUM, reasons.KPL_UNREADABLE)
        else:
            assert records and all(type(data) is bytes for _, _, data in records)


# --- expand ---


def _batch(records: list[dict[str, object]]) -> Batch:
    batch = read_event({"Records": records}, by_name(SOURCES))
    assert isinstance(batch, Batch)
    return batch


def test_a_batch_without_aggregates_is_handed_on_as_it_is() -> None:
    batch = _batch([factories.kinesis_record({"n": n}, sequence=n) for n in range(5)])
    assert expand(batch) is batch


def test_an_aggregate_becomes_its_user_records_in_place_each_read_by_the_user_record_source() -> None:
    records = [("k1", None, b'{"n": 1}'), ("k2", "123", b'{"n": 2}')]
    batch = _batch(
        [
            factories.kinesis_record({"n": 0}, sequence=0),
            kpl.aggregated_record(records, sequence=1),
            factories.kinesis_record({"n": 3}, sequence=2),
        ]
    )
    expanded = expand(batch)
    assert expanded.source is None
    assert [source.name for source in expanded.sources] == [KINESIS] * 4
    assert expanded.sources[1] is KPL_USER and expanded.sources[2] is KPL_USER
    assert (expanded.aggregated_records, expanded.user_records) == (1, 2)
    parent = batch.records[1]
    for sub, (partition_key, hash_key, data) in enumerate(records):
        raw = expanded.records[1 + sub]
        assert raw["kinesis"]["sequenceNumber"] == parent["kinesis"]["sequenceNumber"]
        assert raw["eventID"] == parent["eventID"]
        assert KPL_USER.extract(raw) == data
        assert KPL_USER.describe(raw) == {
            **KINESIS_DESCRIBE(parent),
            "partitionKey": partition_key,
            "subSequenceNumber": sub,
            "explicitHashKey": hash_key,
        }
        assert KPL_USER.item_identifier(raw) == parent["kinesis"]["sequenceNumber"]
        assert KPL_USER.identity(raw) == (*KinesisRecord.source.identity(parent), str(sub))  # type: ignore[misc]
        assert KPL_USER.hand_back(expanded.records, 1 + sub, fifo_scope="batch") == range(1 + sub, 4)
    assert parent["kinesis"]["data"].startswith(MAGIC_BASE64_PREFIX), "the event's record is left as it came"


def KINESIS_DESCRIBE(raw: dict[str, object]) -> dict[str, object]:
    return KinesisRecord.source.describe(raw)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (kpl.protobuf_aggregate([("a", None, b"x")])[:-1] + b"\x00", reasons.KPL_BAD_CHECKSUM),
        (UNREADABLE["partition key index outside the table"], reasons.KPL_UNREADABLE),
    ],
)
def test_a_broken_aggregate_stays_one_position_whose_source_rejects_it_with_its_reason(
    data: bytes, reason: str
) -> None:
    from shardsafe.core.errors import Rejection

    batch = _batch([kpl.raw_record(data)])
    expanded = expand(batch)
    assert expanded.records == batch.records and expanded.sources == [KPL_BROKEN]
    assert (expanded.aggregated_records, expanded.user_records) == (0, 0)
    with pytest.raises(Rejection) as raised:
        KPL_BROKEN.extract(batch.records[0])
    assert raised.value.reason == reason
    assert KPL_BROKEN.raw_payload(batch.records[0]) == data


def test_the_base64_prefix_alone_does_not_make_an_aggregate() -> None:
    not_magic = b"\xf3\x89\x9a\x00 then anything"
    bad_base64 = factories.kinesis_record(raw_data=MAGIC_BASE64_PREFIX + "%%%")
    batch = _batch([kpl.raw_record(not_magic), bad_base64])
    expanded = expand(batch)
    assert expanded.records == batch.records
    assert all(source is KinesisRecord.source for source in expanded.sources)


def test_aggregates_are_found_in_a_batch_with_malformed_and_other_source_records() -> None:
    records = [("k", None, b"{}")]
    batch = _batch(
        [
            {"eventSource": KINESIS, "kinesis": None},
            factories.sqs_record(json.dumps({"n": 1})),
            kpl.aggregated_record(records, sequence=2),
        ]
    )
    expanded = expand(batch)
    assert expanded.records[:2] == batch.records[:2]
    assert expanded.sources[1] is SqsRecord.source and expanded.sources[2] is KPL_USER
    assert expanded.user_records == 1


def test_sqs_batches_are_not_looked_at() -> None:
    batch = _batch([factories.sqs_record(base64.b64encode(MAGIC).decode())])
    assert batch.source is SqsRecord.source and batch.source.name == SQS
    assert expand(batch) is batch
