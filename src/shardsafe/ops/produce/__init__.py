"""Put test load on a Kinesis stream: generated records or JSON Lines, with poison of every kind.

The library behind ``shardsafe produce``; nothing here imports boto3 (the caller passes a client).

    from shardsafe.ops.aws import make_client
    from shardsafe.ops.produce import generate_records, produce

    result = produce(make_client("kinesis"), "ticks", generate_records(1000, poison=0.05, seed=1))
    print(result.summary())

What each poison kind is, how it is made and what the handler calls it: `shardsafe.ops.produce.kinds`.
"""

from __future__ import annotations

from shardsafe.ops.produce.generate import ProducerRecord, generate_records, mix_poison
from shardsafe.ops.produce.jsonl import read_jsonl
from shardsafe.ops.produce.kinds import GOOD, KINDS, POISON_KINDS, PoisonKind
from shardsafe.ops.produce.producer import ProducedRecord, ProduceResult, RateLimiter, produce

__all__ = [
    "GOOD",
    "KINDS",
    "POISON_KINDS",
    "PoisonKind",
    "ProduceResult",
    "ProducedRecord",
    "ProducerRecord",
    "RateLimiter",
    "generate_records",
    "mix_poison",
    "produce",
    "read_jsonl",
]
