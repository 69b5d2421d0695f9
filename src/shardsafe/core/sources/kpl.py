"""KPL aggregated Kinesis records: each becomes its user records, each with its own position.

The Kinesis Producer Library (and Flink's, fluent-bit's and aws-kinesis-agg's Kinesis outputs) can
pack many *user records* into one Kinesis record. Its format, as AWS publishes it
(https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md)::

    magic F3 89 9A C2 | protobuf AggregatedRecord | MD5 of the protobuf (16 bytes)

    message AggregatedRecord {
      repeated string partition_key_table     = 1;
      repeated string explicit_hash_key_table = 2;
      repeated Record records                 = 3;
    }
    message Tag { required string key = 1; optional string value = 2; }
    message Record {
      required uint64 partition_key_index     = 1;
      optional uint64 explicit_hash_key_index = 2;
      required bytes  data                    = 3;
      repeated Tag    tags                    = 4;
    }

:func:`expand` runs on a batch before the run loop (the processor's ``deaggregate=True``, the default):
each aggregated Kinesis record is replaced by its user records, in order, each a position of its own
read by :data:`KPL_USER` (a Kinesis source that knows the sub-sequence number), so that each one is
processed, quarantined (with its own bytes, partition key, explicit hash key and sub-sequence number)
or handed back on its own. A record that carries the magic but whose MD5 does not match
(:data:`~shardsafe.core.reasons.KPL_BAD_CHECKSUM`) or whose protobuf breaks the definition above
(:data:`~shardsafe.core.reasons.KPL_UNREADABLE`) stays one position, read by :data:`KPL_BROKEN`, and
is quarantined whole, byte for byte. No aggregate is ever dropped.

The reader is hand-written (about a hundred lines) rather than AWS's ``aws-kinesis-agg``: that library
drops an aggregate whole, printing to stderr, on any error while it builds the user records (a record
without ``approximateArrivalTimestamp``, an index outside its key table), passes a corrupt aggregate
through as if it were not one, and needs protobuf (and ``six``) at import, which a cold start would
pay for every batch. This module imports nothing but ``binascii``; ``hashlib`` (for the MD5) is loaded
when the first aggregate is seen. What the batch costs before that is one ``startswith`` on each
Kinesis record's base64 text: the magic's first three bytes are ``84ma`` in base64.

A retryable user record is handed back with its Kinesis record's sequence number (the item identifier
the user records of an aggregate share) and every later position; Lambda then delivers that whole
aggregate again (every user record in it, also those processed already) and everything after it.
"""

from __future__ import annotations

import binascii

from shardsafe.core import reasons
from shardsafe.core.errors import Rejection
from shardsafe.core.sources.base import get, section, str_or_none
from shardsafe.core.sources.kinesis import KinesisRecord, KinesisSource, shard_of

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.sources import Batch

__all__ = [
    "KPL_BROKEN",
    "KPL_USER",
    "MAGIC",
    "MAGIC_BASE64_PREFIX",
    "AggregateError",
    "KplUserRecord",
    "UserRecord",
    "deaggregate",
    "expand",
    "is_aggregate",
]

MAGIC = b"\xf3\x89\x9a\xc2"
#: The base64 of the magic's first three bytes: a Kinesis record whose ``data`` does not start with it
#: is not an aggregate, and is not decoded here.
MAGIC_BASE64_PREFIX = "84ma"
DIGEST_SIZE = 16  # MD5

#: A user record: ``(partition_key, explicit_hash_key or None, data)``, in sub-sequence order.
UserRecord = tuple[str, "str | None", bytes]

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_UINT64_LIMIT = 1 << 64


class AggregateError(Exception):
    """Bytes that carry the KPL magic but are not a readable aggregate: ``reason`` is
    :data:`~shardsafe.core.reasons.KPL_BAD_CHECKSUM` or :data:`~shardsafe.core.reasons.KPL_UNREADABLE`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def is_aggregate(data: bytes) -> bool:
    """Whether ``data`` carries the KPL magic (and so must de-aggregate, or be poison)."""
    return data[:4] == MAGIC


def deaggregate(data: bytes) -> list[UserRecord]:
    """The user records of an aggregated record's bytes, in order (the sub-sequence number is the index).

    Raises :class:`AggregateError` when the MD5 does not match or the protobuf is not an
    ``AggregatedRecord`` (truncated, a field of the wrong wire type, a required field missing, a key
    that is not UTF-8, an index outside its table, no user record at all).

    >>> import hashlib
    >>> message = bytes.fromhex("0a014b") + bytes.fromhex("1a050800 1a0178".replace(" ", ""))
    >>> deaggregate(MAGIC + message + hashlib.md5(message).digest())
    [('K', None, b'x')]
    """
    if data[:4] != MAGIC:
        raise AggregateError(
            reasons.KPL_UNREADABLE, "the record does not start with the KPL magic F3 89 9A C2"
        )
    if len(data) < len(MAGIC) + DIGEST_SIZE:
        raise AggregateError(
            reasons.KPL_UNREADABLE,
            f"{len(data)} bytes carry the KPL magic but cannot hold its 16-byte MD5 after it",
        )
    message, digest = data[4:-DIGEST_SIZE], data[-DIGEST_SIZE:]
    import hashlib  # only once an aggregate is seen: OpenSSL takes milliseconds to load

    if hashlib.md5(message, usedforsecurity=False).digest() != digest:
        raise AggregateError(
            reasons.KPL_BAD_CHECKSUM,
            f"the MD5 of the {len(message)}-byte protobuf is not the one the aggregate ends with "
            f"({digest.hex()}): the record is corrupt",
        )
    try:
        return _read_aggregated_record(message)
    except AggregateError:
        raise
    except (IndexError, ValueError) as error:  # a length or varint running past the end
        raise AggregateError(
            reasons.KPL_UNREADABLE, f"the protobuf is truncated or malformed: {error}"
        ) from None


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    """A base-128 varint at ``position``: (value, the position after it). IndexError past the end."""
    byte = buffer[position]
    if byte < 0x80:
        return byte, position + 1
    value, shift = byte & 0x7F, 7
    while True:
        position += 1
        byte = buffer[position]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift > 63:
            raise AggregateError(reasons.KPL_UNREADABLE, "a varint is longer than 10 bytes")
    if value >= _UINT64_LIMIT:
        raise AggregateError(reasons.KPL_UNREADABLE, "a varint is larger than a uint64")
    return value, position + 1


def _skip(buffer: bytes, position: int, wire_type: int, end: int) -> int:
    """The position after a field this reader does not use (protobuf skips unknown fields)."""
    if wire_type == _VARINT:
        return _varint(buffer, position)[1]
    if wire_type == _LENGTH:
        length, position = _varint(buffer, position)
        position += length
    elif wire_type == _FIXED64:
        position += 8
    elif wire_type == _FIXED32:
        position += 4
    else:  # groups (3, 4) are not in the format, and 6 and 7 are no wire type
        raise AggregateError(
            reasons.KPL_UNREADABLE, f"a field has wire type {wire_type}, which the format has not"
        )
    if position > end:
        raise AggregateError(reasons.KPL_UNREADABLE, "a field runs past the end of its message")
    return position


def _text(buffer: bytes, start: int, end: int, what: str) -> str:
    try:
        return buffer[start:end].decode("utf-8")
    except UnicodeDecodeError as error:
        raise AggregateError(reasons.KPL_UNREADABLE, f"a {what} is not UTF-8: {error}") from None


def _read_aggregated_record(message: bytes) -> list[UserRecord]:
    partition_keys: list[str] = []
    hash_keys: list[str] = []
    spans: list[tuple[int, int]] = []  # each Record sub-message's bytes
    position, end = 0, len(message)
    while position < end:
        if message[position] == 0x1A:  # a Record (field 3, length-delimited): most of the message
            length = message[position + 1]
            if length < 0x80:
                position += 2
            else:
                length, position = _varint(message, position + 1)
            stop = position + length
            if stop > end:
                raise AggregateError(reasons.KPL_UNREADABLE, "AggregatedRecord field 3 runs past the end")
            spans.append((position, stop))
            position = stop
            continue
        key, position = _varint(message, position)
        number, wire_type = key >> 3, key & 7
        if number in (1, 2, 3):
            if wire_type != _LENGTH:
                raise AggregateError(
                    reasons.KPL_UNREADABLE,
                    f"AggregatedRecord field {number} has wire type {wire_type}, not 2",
                )
            length, position = _varint(message, position)
            stop = position + length
            if stop > end:
                raise AggregateError(
                    reasons.KPL_UNREADABLE, f"AggregatedRecord field {number} runs past the end"
                )
            if number == 1:
                partition_keys.append(_text(message, position, stop, "partition key"))
            elif number == 2:
                hash_keys.append(_text(message, position, stop, "explicit hash key"))
            else:
                spans.append((position, stop))
            position = stop
        elif number == 0:
            raise AggregateError(reasons.KPL_UNREADABLE, "a field has number 0")
        else:
            position = _skip(message, position, wire_type, end)
    if not spans:
        raise AggregateError(reasons.KPL_UNREADABLE, "the aggregate holds no user record")
    return [
        _read_record(message, start, stop, partition_keys, hash_keys, sub)
        for sub, (start, stop) in enumerate(spans)
    ]


def _read_record(
    message: bytes, position: int, end: int, partition_keys: list[str], hash_keys: list[str], sub: int
) -> UserRecord:
    # The layout the KPL and every writer we know use: 08 <index> [10 <index>] 1A <length> <data>, with
    # indexes under 128. Read straight (a third of the cost); anything else, or anything wrong, is left
    # to the general reader below, which says what is wrong.
    if end - position >= 4 and message[position] == 0x08 and message[position + 1] < 0x80:
        key_index = message[position + 1]
        at = position + 2
        hash_index = None
        if message[at] == 0x10 and at + 1 < end and message[at + 1] < 0x80:
            hash_index = message[at + 1]
            at += 2
        if at + 1 < end and message[at] == 0x1A:
            length = message[at + 1]
            if length < 0x80:
                at += 2
            else:
                length, at = _varint(message, at + 1)
            if (
                at + length == end
                and key_index < len(partition_keys)
                and (hash_index is None or hash_index < len(hash_keys))
            ):
                hash_key = None if hash_index is None else hash_keys[hash_index]
                return (partition_keys[key_index], hash_key, message[at:end])
    return _read_record_fields(message, position, end, partition_keys, hash_keys, sub)


def _read_record_fields(
    message: bytes, position: int, end: int, partition_keys: list[str], hash_keys: list[str], sub: int
) -> UserRecord:
    key_index: int | None = None
    hash_index: int | None = None
    data: bytes | None = None
    while position < end:
        key, position = _varint(message, position)
        number, wire_type = key >> 3, key & 7
        if number in (1, 2):
            if wire_type != _VARINT:
                raise AggregateError(
                    reasons.KPL_UNREADABLE,
                    f"user record {sub}: field {number} has wire type {wire_type}, not 0",
                )
            value, position = _varint(message, position)
            if number == 1:
                key_index = value
            else:
                hash_index = value
        elif number == 3:
            if wire_type != _LENGTH:
                raise AggregateError(
                    reasons.KPL_UNREADABLE, f"user record {sub}: data has wire type {wire_type}, not 2"
                )
            length, position = _varint(message, position)
            stop = position + length
            if stop > end:
                raise AggregateError(reasons.KPL_UNREADABLE, f"user record {sub}: its data runs past its end")
            data = message[position:stop]
            position = stop
        elif number == 0:
            raise AggregateError(reasons.KPL_UNREADABLE, f"user record {sub}: a field has number 0")
        else:  # tags (4): the KPL does not write them, and nothing reads them
            position = _skip(message, position, wire_type, end)
    if position != end:
        raise AggregateError(reasons.KPL_UNREADABLE, f"user record {sub}: a field runs past its end")
    if key_index is None or data is None:
        missing = "partition_key_index" if key_index is None else "data"
        raise AggregateError(reasons.KPL_UNREADABLE, f"user record {sub} has no {missing}, which is required")
    if key_index >= len(partition_keys):
        raise AggregateError(
            reasons.KPL_UNREADABLE,
            f"user record {sub}: partition_key_index {key_index} is outside the table of {len(partition_keys)} keys",
        )
    if hash_index is not None and hash_index >= len(hash_keys):
        raise AggregateError(
            reasons.KPL_UNREADABLE,
            f"user record {sub}: explicit_hash_key_index {hash_index} is outside the table of "
            f"{len(hash_keys)} keys",
        )
    return (partition_keys[key_index], None if hash_index is None else hash_keys[hash_index], data)


# --- the sources of expanded positions ---


class KplUserRecord(KinesisRecord):
    """A user record of a KPL aggregate: a :class:`~shardsafe.KinesisRecord` whose ``partition_key`` is its
    own, with ``sub_sequence_number`` (its place in the aggregate) and ``explicit_hash_key`` (or None).

    ``raw`` is shaped as Lambda's Kinesis record (as ``aws-kinesis-agg`` shapes its user records): the
    aggregate's coordinates, and in ``kinesis`` the user record's ``data`` (base64),
    ``partitionKey``, ``explicitHashKey``, ``subSequenceNumber`` and ``aggregated: true``.
    """

    __slots__ = ()


class KplUserSource(KinesisSource):
    """Reads a user record of an aggregate: a Kinesis record whose position has a sub-sequence number.

    The item identifier is the aggregate's sequence number (Lambda knows no other); the identity adds
    the sub-sequence number, so that each user record is its own across deliveries.
    """

    __slots__ = ()
    record_class = KplUserRecord

    def describe(self, raw: Any) -> dict[str, Any]:
        coordinates = super().describe(raw)
        kinesis = section(raw, "kinesis")
        sub = kinesis.get("subSequenceNumber")
        coordinates["subSequenceNumber"] = sub if type(sub) is int else None
        coordinates["explicitHashKey"] = str_or_none(kinesis.get("explicitHashKey"))
        return coordinates

    def identity(self, raw: Any) -> tuple[str, ...] | None:
        arn, shard = str_or_none(get(raw, "eventSourceARN")), shard_of(raw)
        kinesis = section(raw, "kinesis")
        sequence, sub = str_or_none(kinesis.get("sequenceNumber")), kinesis.get("subSequenceNumber")
        if arn and shard and sequence and type(sub) is int:
            return (arn, shard, sequence, str(sub))
        return None


class KplBrokenSource(KinesisSource):
    """Reads a record that carries the KPL magic but is no readable aggregate: always poison, with
    the reason :func:`deaggregate` gives, and quarantined whole (its ``raw`` is the record as it came)."""

    __slots__ = ()

    def extract(self, raw: Any) -> bytes:
        payload = super().extract(raw)
        try:
            deaggregate(payload)
        except AggregateError as error:
            raise Rejection(error.reason, error.message) from None
        # Never reached: expand gives this source only what deaggregate rejects, and it is deterministic.
        raise Rejection(
            reasons.INTERNAL_ERROR, "shardsafe bug: an aggregate expand found broken reads well here"
        )


KplUserRecord.source = KPL_USER = KplUserSource()
KPL_BROKEN = KplBrokenSource()


# --- the expand step ---


def expand(batch: Batch) -> Batch:
    """``batch`` with each KPL aggregate replaced by its user records (a broken one left whole, for
    :data:`KPL_BROKEN` to reject); the same batch when it holds none. ``aggregated_records`` and
    ``user_records`` on the batch it returns count what was expanded."""
    records, sources, shared = batch.records, batch.sources, batch.source
    prefix = MAGIC_BASE64_PREFIX
    if shared is not None:
        if not isinstance(shared, KinesisSource):
            return batch
        try:  # the usual batch: one pass, one startswith a record
            found = [index for index, raw in enumerate(records) if raw["kinesis"]["data"].startswith(prefix)]
        except (KeyError, TypeError, AttributeError, IndexError):
            found = _found_carefully(records, sources, prefix)
    else:
        found = _found_carefully(records, sources, prefix)
    if not found:
        return batch
    return _expanded(batch, found)


def _found_carefully(records: list[Any], sources: list[Any], prefix: str) -> list[int]:
    """The positions of Kinesis records whose base64 starts as an aggregate's, in a batch where some
    record is malformed or of another source."""
    found = []
    for index, raw in enumerate(records):
        if isinstance(sources[index], KinesisSource):
            data = section(raw, "kinesis").get("data")
            if type(data) is str and data.startswith(prefix):
                found.append(index)
    return found


def _expanded(batch: Batch, found: list[int]) -> Batch:
    from shardsafe.core.sources import Batch

    records, sources = batch.records, batch.sources
    new_records: list[Any] = []
    new_sources: list[Any] = []
    aggregated = users = 0
    start = 0
    b2a = binascii.b2a_base64
    for index in found:
        new_records += records[start:index]
        new_sources += sources[start:index]
        start = index + 1
        raw = records[index]
        try:
            data = binascii.a2b_base64(raw["kinesis"]["data"], strict_mode=True)
        except (binascii.Error, ValueError):  # not base64: the Kinesis source says so (bad_base64)
            new_records.append(raw)
            new_sources.append(sources[index])
            continue
        if data[:4] != MAGIC:  # "84ma" then something else: not an aggregate
            new_records.append(raw)
            new_sources.append(sources[index])
            continue
        try:
            user_records = deaggregate(data)
        except AggregateError:
            new_records.append(raw)
            new_sources.append(KPL_BROKEN)
            continue
        kinesis = raw["kinesis"]
        for sub, (partition_key, hash_key, user_data) in enumerate(user_records):
            user = dict(raw)
            user["kinesis"] = {
                **kinesis,
                "partitionKey": partition_key,
                "explicitHashKey": hash_key,
                "subSequenceNumber": sub,
                "aggregated": True,
                "data": b2a(user_data, newline=False).decode("ascii"),
            }
            new_records.append(user)
        new_sources += [KPL_USER] * len(user_records)
        aggregated += 1
        users += len(user_records)
    new_records += records[start:]
    new_sources += sources[start:]
    expanded = Batch(new_records, new_sources, None)
    expanded.aggregated_records = aggregated
    expanded.user_records = users
    return expanded
