"""KPL aggregates for the tests, from three writers that share no code with shardsafe's reader.

- ``aws-kinesis-agg``: AWS's own Python aggregator (``RecordAggregator``), a test dependency;
- ``protobuf``: the ``protobuf`` package's message classes, built at run time from the .proto that
  AWS publishes (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md),
  not from aws-kinesis-agg's generated code;
- ``shardsafe.ops``: the producer's encoder (`shardsafe.ops.produce.aggregate.encode_aggregate`).

A user record is ``(partition_key, explicit_hash_key or None, data)``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from shardsafe.core.sources.kpl import MAGIC
from shardsafe.ops.produce.aggregate import encode_aggregate
from tests import factories

UserRecords = Sequence[tuple[str, str | None, bytes]]


def aws_kinesis_agg_aggregate(user_records: UserRecords) -> bytes:
    """One aggregate by aws-kinesis-agg's RecordAggregator (which needs ``six``, undeclared)."""
    import aws_kinesis_agg.aggregator

    aggregator = aws_kinesis_agg.aggregator.RecordAggregator()
    for partition_key, hash_key, data in user_records:
        assert aggregator.add_user_record(partition_key, data, hash_key) is None, (
            "records overflowed one aggregate"
        )
    _, _, data = aggregator.clear_and_get().get_contents()
    return bytes(data)


@cache
def _aggregated_record_class() -> Any:
    """``AggregatedRecord`` as the protobuf package builds it from the published .proto (proto2)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    optional, required, repeated = 1, 2, 3
    string, uint64, bytes_, message = 9, 4, 12, 11
    proto = descriptor_pb2.FileDescriptorProto(name="kpl_tests.proto", package="kpltests", syntax="proto2")
    tag = proto.message_type.add(name="Tag")
    tag.field.add(name="key", number=1, type=string, label=required)
    tag.field.add(name="value", number=2, type=string, label=optional)
    record = proto.message_type.add(name="Record")
    record.field.add(name="partition_key_index", number=1, type=uint64, label=required)
    record.field.add(name="explicit_hash_key_index", number=2, type=uint64, label=optional)
    record.field.add(name="data", number=3, type=bytes_, label=required)
    record.field.add(name="tags", number=4, type=message, label=repeated, type_name=".kpltests.Tag")
    aggregated = proto.message_type.add(name="AggregatedRecord")
    aggregated.field.add(name="partition_key_table", number=1, type=string, label=repeated)
    aggregated.field.add(name="explicit_hash_key_table", number=2, type=string, label=repeated)
    aggregated.field.add(name="records", number=3, type=message, label=repeated, type_name=".kpltests.Record")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("kpltests.AggregatedRecord"))


def protobuf_message(user_records: UserRecords, *, tags: bool = False) -> Any:
    """The ``AggregatedRecord`` message (one table entry per user record's key, as the format allows)."""
    message = _aggregated_record_class()()
    for partition_key, hash_key, data in user_records:
        message.partition_key_table.append(partition_key)
        record = message.records.add(partition_key_index=len(message.partition_key_table) - 1, data=data)
        if hash_key is not None:
            message.explicit_hash_key_table.append(hash_key)
            record.explicit_hash_key_index = len(message.explicit_hash_key_table) - 1
        if tags:
            record.tags.add(key="origin", value="tests")
    return message


def frame(message: bytes) -> bytes:
    """Magic, protobuf, MD5: the aggregate around a serialised ``AggregatedRecord``."""
    return MAGIC + message + hashlib.md5(message).digest()


def protobuf_aggregate(user_records: UserRecords, *, tags: bool = False) -> bytes:
    return frame(protobuf_message(user_records, tags=tags).SerializeToString())


WRITERS: dict[str, Callable[[UserRecords], bytes]] = {
    "aws-kinesis-agg": aws_kinesis_agg_aggregate,
    "protobuf": protobuf_aggregate,
    "shardsafe.ops": encode_aggregate,
}


def aggregated_record(
    user_records: UserRecords,
    *,
    sequence: int = 0,
    writer: str = "aws-kinesis-agg",
    partition_key: str = "agg",
) -> dict[str, Any]:
    """A Kinesis record (as Lambda sends it) whose data is an aggregate of ``user_records``."""
    return factories.kinesis_record(
        WRITERS[writer](user_records), sequence=sequence, partition_key=partition_key
    )


def raw_record(data: bytes, *, sequence: int = 0) -> dict[str, Any]:
    """A Kinesis record carrying ``data`` exactly (a broken aggregate, say)."""
    return factories.kinesis_record(raw_data=base64.b64encode(data).decode(), sequence=sequence)
