"""Per-user-record cost of KPL de-aggregation, and what the check costs a batch without aggregates.

The work: a Lambda batch of Kinesis records, each a KPL aggregate of ``per_aggregate`` user records
(stock ticks of about ``record_size`` bytes) made by AWS's own aggregator (``aws-kinesis-agg``), turned
into its user records: base64, the magic, the MD5, the protobuf, each user record's key and bytes.

- ``floor``: the fastest plain code for that work: ``binascii`` and ``hashlib`` called directly and the
  ``protobuf`` package's C parser (upb) on the generated message class, each user record a
  ``(partition_key, explicit_hash_key, data)`` tuple; nothing else made.
- ``shardsafe``: :func:`shardsafe.core.sources.kpl.expand`, the processor's expand stage, as it runs
  on a batch: each user record a Lambda-shaped record (base64 data, coordinates, sub-sequence number),
  with a source that reads it.
- ``aws_kinesis_agg``: ``deaggregate_records(event["Records"])`` as its README shows, which makes the
  same Lambda-shaped records.

``clean batch``: the expand stage on a batch of the same size without aggregates (the hot path): what
it adds per record is one ``startswith`` on each record's base64 text.

Wall time with ``time.perf_counter_ns``, the garbage collector on; contenders interleaved, the order
rotating each repetition; the median of the repetitions, and of the per-repetition ratios.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from shardsafe_harness import events

from shardsafe.core.sources import Batch, KinesisRecord
from shardsafe.core.sources.kpl import MAGIC, expand

CONTENDERS = ("floor", "shardsafe", "aws_kinesis_agg")


def aggregated_event(aggregates: int, per_aggregate: int, record_size: int) -> dict[str, Any]:
    """A Lambda event of ``aggregates`` Kinesis records, each an aws-kinesis-agg aggregate."""
    import aws_kinesis_agg.aggregator

    records = []
    for index in range(aggregates):
        aggregator = aws_kinesis_agg.aggregator.RecordAggregator()
        for sub in range(per_aggregate):
            tick = {"EVENT_TIME": "2024-01-01T00:00:00.000", "TICKER": "AMZN", "PRICE": 1.5, "N": sub}
            pad = max(0, record_size - len(json.dumps(tick)) - 10)
            tick["PAD"] = "x" * pad
            aggregator.add_user_record(f"pk-{sub % 16:04d}", json.dumps(tick).encode())
        _, _, data = aggregator.clear_and_get().get_contents()
        records.append(events.kinesis_record(bytes(data), sequence=index))
    return {"Records": records}


def clean_event(count: int, record_size: int) -> dict[str, Any]:
    tick = json.dumps({"TICKER": "AMZN", "PRICE": 1.5, "PAD": "x" * max(0, record_size - 40)}).encode()
    return {"Records": [events.kinesis_record(tick, sequence=index) for index in range(count)]}


def floor_contender() -> Callable[[list[dict[str, Any]]], list[tuple[str, str | None, bytes]]]:
    from aws_kinesis_agg.messages_pb2 import AggregatedRecord

    a2b, md5, magic = binascii.a2b_base64, hashlib.md5, MAGIC

    def deaggregate(records: list[dict[str, Any]]) -> list[tuple[str, str | None, bytes]]:
        users = []
        for raw in records:
            data = a2b(raw["kinesis"]["data"], strict_mode=True)
            if data[:4] != magic:
                continue
            message = data[4:-16]
            if md5(message).digest() != data[-16:]:
                raise ValueError("bad md5")
            aggregated = AggregatedRecord()
            aggregated.ParseFromString(message)
            keys, hash_keys = aggregated.partition_key_table, aggregated.explicit_hash_key_table
            for record in aggregated.records:
                hash_key = (
                    hash_keys[record.explicit_hash_key_index]
                    if record.HasField("explicit_hash_key_index")
                    else None
                )
                users.append((keys[record.partition_key_index], hash_key, record.data))
        return users

    return deaggregate


def shardsafe_contender() -> Callable[[list[dict[str, Any]]], list[Any]]:
    source = KinesisRecord.source

    def deaggregate(records: list[dict[str, Any]]) -> list[Any]:
        return expand(Batch(records, [source] * len(records), source)).records

    return deaggregate


def aws_kinesis_agg_contender() -> Callable[[list[dict[str, Any]]], list[Any]]:
    from aws_kinesis_agg.deaggregator import deaggregate_records

    return deaggregate_records  # type: ignore[no-any-return]


def contenders() -> dict[str, Callable[[list[dict[str, Any]]], list[Any]]]:
    return {
        "floor": floor_contender(),
        "shardsafe": shardsafe_contender(),
        "aws_kinesis_agg": aws_kinesis_agg_contender(),
    }


def check_same_work(records: list[dict[str, Any]], expected: int) -> None:
    """Every contender finds the same user records (count and bytes) before anything is timed."""
    made = contenders()
    floor = [data for _, _, data in made["floor"](records)]
    ours = [base64.b64decode(raw["kinesis"]["data"]) for raw in made["shardsafe"](records)]
    theirs = [base64.b64decode(raw["kinesis"]["data"]) for raw in made["aws_kinesis_agg"](records)]
    if not (len(floor) == expected and floor == ours == theirs):
        raise RuntimeError(f"the contenders disagree: {len(floor)}, {len(ours)}, {len(theirs)} of {expected}")


def _timed(function: Callable[[], object], calls: int) -> float:
    gc.collect()
    started = time.perf_counter_ns()
    for _ in range(calls):
        function()
    return (time.perf_counter_ns() - started) / calls


def measure(
    *,
    aggregates: int = 100,
    per_aggregate: int = 10,
    record_size: int = 100,
    repetitions: int = 7,
    min_user_records: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    records = aggregated_event(aggregates, per_aggregate, record_size)["Records"]
    users = aggregates * per_aggregate
    check_same_work(records, users)
    made = contenders()
    calls = max(1, -(-min_user_records // users))
    samples: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for repetition in range(repetitions):
        order = CONTENDERS[repetition % 3 :] + CONTENDERS[: repetition % 3]
        for name in order:
            function = made[name]
            samples[name].append(_timed(lambda f=function: f(records), calls) / users / 1000)  # type: ignore[misc]
    clean = clean_event(aggregates * per_aggregate, record_size)["Records"]
    source = KinesisRecord.source
    clean_batch = Batch(clean, [source] * len(clean), source)
    clean_calls = max(1, -(-min_user_records * 5 // len(clean)))
    check = [
        _timed(lambda: expand(clean_batch), clean_calls) / len(clean) for _ in range(repetitions)
    ]  # ns per record
    result = {
        "aggregates": aggregates,
        "user_records_per_aggregate": per_aggregate,
        "record_size": record_size,
        "repetitions": repetitions,
        "us_per_user_record": {name: statistics.median(values) for name, values in samples.items()},
        "samples_us_per_user_record": samples,
        # the median of the per-repetition ratios: a slow second slows every run of a repetition alike
        "ratios": {
            f"shardsafe/{other}": statistics.median(
                ours / theirs for ours, theirs in zip(samples["shardsafe"], samples[other], strict=True)
            )
            for other in ("floor", "aws_kinesis_agg")
        },
        "clean_batch_ns_per_record": statistics.median(check),
    }
    if progress is not None:
        us = result["us_per_user_record"]
        progress(
            f"{per_aggregate} user records of {record_size} B an aggregate: "
            + ", ".join(f"{name} {us[name]:.2f}" for name in CONTENDERS)
            + f" µs/user record; a batch without aggregates: {result['clean_batch_ns_per_record']:.0f} ns/record"
        )
    return result


def table(result: dict[str, Any]) -> str:
    us = result["us_per_user_record"]
    rows = [
        f"### KPL de-aggregation ({result['aggregates']} aggregates of {result['user_records_per_aggregate']} "
        f"user records, {result['record_size']} B each, made by aws-kinesis-agg)",
        "",
        "| contender | µs per user record | vs floor |",
        "| --- | ---: | ---: |",
    ]
    for name in CONTENDERS:
        rows.append(f"| {name} | {us[name]:.2f} | {us[name] / us['floor']:.2f}x |")
    ratios = result.get("ratios", {})
    rows += [
        "",
        "shardsafe against aws_kinesis_agg, the median of the per-repetition ratios: "
        f"{ratios.get('shardsafe/aws_kinesis_agg', float('nan')):.2f}x.",
        "",
        f"The expand stage on a batch without aggregates: {result['clean_batch_ns_per_record']:.0f} ns per record "
        "(one `startswith` on each record's base64).",
    ]
    return "\n".join(rows)
