"""Per-record cost of the idempotency layer: in memory, and on DynamoDB (the embedded LocalStack's),
against Powertools' idempotency on the same kind of table and the same records.

Each contender handles SQS batches of JSON messages with a trivial business call, twice: the **first
delivery** (every key new: claimed, handled, completed, the common case) and the **same batch again**
(every key completed: skipped). Each repetition uses fresh message ids and, for the DynamoDB
contenders, a fresh table each (created outside the timing), in Powertools' layout:

- ``shardsafe``: ``StreamProcessor(handle)``, no idempotency: the base of the shardsafe rows;
- ``shardsafe + memory``: ``idempotency=Idempotency(MemoryIdempotencyStore())``;
- ``shardsafe + DynamoDB``: ``idempotency=Idempotency(DynamoDBIdempotencyStore(table))``, and the same
  with the business call in a batch handler (``shardsafe, batch handler``: its base), where a key is
  completed per batch-handler call rather than per record;
- ``Powertools``: ``BatchProcessor(event_type=EventType.SQS)`` with ``process_partial_response``: the base
  of the Powertools row;
- ``Powertools + DynamoDB``: as Powertools' documentation shows idempotency with the batch utility
  (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/, "Batch integration"):
  ``@idempotent_function(data_keyword_argument="record", config=IdempotencyConfig(event_key_jmespath=
  "messageId"), persistence_store=DynamoDBPersistenceLayer(table_name=...))`` on the record handler, and
  ``config.register_lambda_context(context)`` in the Lambda handler.

The layer's **overhead** is a contender's time per record less its base's, both measured in the same
repetition (the order rotates each repetition; the median is reported). Store calls per batch are
counted with botocore's ``before-call`` event on the shared client. Powertools has no in-memory store,
so the memory rows compare shardsafe with itself. On LocalStack DynamoDB is moto, in LocalStack's
process, over HTTP on this machine: a call costs about a millisecond or two of mostly local overhead,
not DynamoDB's latency, so the DynamoDB rows compare calls, not what AWS would take.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from shardsafe import (
    DynamoDBIdempotencyStore,
    Idempotency,
    MemoryIdempotencyStore,
    MemoryMetrics,
    MemoryQuarantine,
    StreamProcessor,
)

Handler = Callable[[dict[str, Any], Any], Any]
BATCH_SIZES = (10, 100)
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:bench-idempotency"
_tables = itertools.count()


class LambdaContext:
    function_name = "bench-idempotency"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench-idempotency"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def business(message: dict[str, Any]) -> float:
    return float(message["price"]) * 2


def sqs_event(batch_size: int) -> dict[str, Any]:
    """A batch of fresh messages: message ids never used before."""
    run = uuid.uuid4().hex[:12]
    return {
        "Records": [
            {
                "messageId": f"{run}-{n:06d}",
                "receiptHandle": "handle",
                "body": json.dumps({"id": n, "price": 1.5 + n}),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1704067200000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
            for n in range(batch_size)
        ]
    }


# --- the contenders ---


def shardsafe(idempotency: Idempotency | None = None, *, batch: bool = False) -> Handler:
    """shardsafe's processor; ``batch``: the business call in a batch handler, once per batch (a key is
    then completed per batch-handler call, in ``BatchWriteItem`` calls of 25)."""
    if batch:
        return StreamProcessor(
            batch_handler=lambda records: [business(record.data) for record in records],
            idempotency=idempotency,
            quarantine=MemoryQuarantine(),
            metrics=MemoryMetrics(),
            tracing=False,
        )
    return StreamProcessor(
        lambda record: business(record.data),
        idempotency=idempotency,
        quarantine=MemoryQuarantine(),
        metrics=MemoryMetrics(),
        tracing=False,
    )


def powertools(table: str | None = None, client: Any = None) -> Handler:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS)
    if table is None:

        def plain(record: Any) -> float:
            return business(json.loads(record.body))

        def handler(event: dict[str, Any], context: Any) -> Any:
            return process_partial_response(
                event=event, record_handler=plain, processor=processor, context=context
            )

        return handler

    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = IdempotencyConfig(event_key_jmespath="messageId")

    @idempotent_function(data_keyword_argument="record", config=config, persistence_store=persistence)
    def record_handler(record: Any) -> float:
        return business(json.loads(record.body))

    def idempotent_handler(event: dict[str, Any], context: Any) -> Any:
        config.register_lambda_context(context)
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return idempotent_handler


def create_table(client: Any) -> str:
    name = f"bench-idempotency-{os.getpid()}-{next(_tables)}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


class CallCounter:
    """DynamoDB calls made through a client, by operation (botocore's before-call event)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **kwargs: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """shardsafe's summary lines and Powertools' warnings are written, as in Lambda, but not shown."""
    import warnings

    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def _time(handler: Handler, event: dict[str, Any]) -> float:
    """µs per record of one call."""
    gc.collect()
    started = time.perf_counter_ns()
    handler(event, LambdaContext())
    return (time.perf_counter_ns() - started) / 1000 / len(event["Records"])


# --- the cases ---


def measure_case(
    batch_size: int,
    contenders: dict[str, Callable[[], tuple[Handler, Callable[[], None]]]],
    bases: dict[str, str],
    *,
    repetitions: int,
    counter: CallCounter | None = None,
) -> dict[str, Any]:
    """µs per record for each contender, on the first delivery and again; overheads against ``bases``."""
    names = list(contenders)
    samples: dict[str, dict[str, list[float]]] = {
        "first": {n: [] for n in names},
        "again": {n: [] for n in names},
    }
    calls: dict[str, dict[str, Counter[str]]] = {"first": {}, "again": {}}
    overhead: dict[str, dict[str, list[float]]] = {
        "first": {n: [] for n in bases},
        "again": {n: [] for n in bases},
    }
    with quiet():
        for repetition in range(repetitions + 1):  # the first is a warm-up, not kept
            order = names[repetition % len(names) :] + names[: repetition % len(names)]
            this: dict[str, dict[str, float]] = {"first": {}, "again": {}}
            for name in order:
                handler, clean = contenders[name]()
                event = sqs_event(batch_size)
                for delivery in ("first", "again"):
                    if counter is not None:
                        counter.take()
                    this[delivery][name] = _time(handler, event)
                    if counter is not None and repetition == 1:
                        calls[delivery][name] = counter.take()
                clean()
            if repetition == 0:
                continue
            for delivery in ("first", "again"):
                for name in names:
                    samples[delivery][name].append(this[delivery][name])
                for name, base in bases.items():
                    overhead[delivery][name].append(this[delivery][name] - this[delivery][base])
    return {
        "batch_size": batch_size,
        "repetitions": repetitions,
        "us_per_record": {
            delivery: {name: statistics.median(values) for name, values in by_name.items()}
            for delivery, by_name in samples.items()
        },
        "overhead_us": {
            delivery: {name: statistics.median(values) for name, values in by_name.items()}
            for delivery, by_name in overhead.items()
        },
        "calls_per_batch": {
            delivery: {name: dict(counts) for name, counts in by_name.items()}
            for delivery, by_name in calls.items()
        },
    }


def _nothing() -> None:
    return None


def measure_memory(
    batch_sizes: Sequence[int] = BATCH_SIZES, *, repetitions: int = 7, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """shardsafe with and without the in-memory store, in this process."""
    contenders: dict[str, Callable[[], tuple[Handler, Callable[[], None]]]] = {
        "shardsafe": lambda: (shardsafe(), _nothing),
        "shardsafe + memory": lambda: (
            shardsafe(Idempotency(MemoryIdempotencyStore(), namespace="bench")),
            _nothing,
        ),
    }
    cases = []
    for batch_size in batch_sizes:
        case = measure_case(
            batch_size, contenders, {"shardsafe + memory": "shardsafe"}, repetitions=repetitions
        )
        progress(
            f"  memory, batch {batch_size}: overhead {case['overhead_us']['first']['shardsafe + memory']:.1f} µs/record "
            f"(again: {case['overhead_us']['again']['shardsafe + memory']:.1f})"
        )
        cases.append(case)
    return {"store": "memory", "cases": cases}


def measure_dynamodb(
    client: Any,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    *,
    repetitions: int = 5,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """shardsafe's and Powertools' idempotency on DynamoDB tables ``client`` reaches (LocalStack's)."""
    counter = CallCounter(client)

    def on_table(make: Callable[[str], Handler]) -> Callable[[], tuple[Handler, Callable[[], None]]]:
        def build() -> tuple[Handler, Callable[[], None]]:
            table = create_table(client)
            return make(table), lambda: client.delete_table(TableName=table)

        return build

    contenders: dict[str, Callable[[], tuple[Handler, Callable[[], None]]]] = {
        "shardsafe": lambda: (shardsafe(), _nothing),
        "shardsafe + DynamoDB": on_table(
            lambda table: shardsafe(
                Idempotency(DynamoDBIdempotencyStore(table, client=client), namespace="bench")
            )
        ),
        "shardsafe, batch handler": lambda: (shardsafe(batch=True), _nothing),
        "shardsafe + DynamoDB, batch handler": on_table(
            lambda table: shardsafe(
                Idempotency(DynamoDBIdempotencyStore(table, client=client), namespace="bench"), batch=True
            )
        ),
        "Powertools": lambda: (powertools(), _nothing),
        "Powertools + DynamoDB": on_table(lambda table: powertools(table, client)),
    }
    bases = {
        "shardsafe + DynamoDB": "shardsafe",
        "shardsafe + DynamoDB, batch handler": "shardsafe, batch handler",
        "Powertools + DynamoDB": "Powertools",
    }
    cases = []
    for batch_size in batch_sizes:
        case = measure_case(batch_size, contenders, bases, repetitions=repetitions, counter=counter)
        first = case["overhead_us"]["first"]
        progress(
            f"  DynamoDB, batch {batch_size}: overhead shardsafe {first['shardsafe + DynamoDB']:.0f} µs/record "
            f"({first['shardsafe + DynamoDB, batch handler']:.0f} with a batch handler), "
            f"Powertools {first['Powertools + DynamoDB']:.0f} µs/record"
        )
        cases.append(case)
    return {"store": "dynamodb", "cases": cases}


def localstack_client(endpoint: str) -> Any:
    from shardsafe_harness.clients import localstack_client as client

    return client("dynamodb", endpoint)


# --- the report ---


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """On DynamoDB, the layer costs less per record than Powertools', first delivery and again."""
    part = results.get("dynamodb")
    if not part:
        return []
    checks = []
    for case in part["cases"]:
        for delivery in ("first", "again"):
            ours = case["overhead_us"][delivery]["shardsafe + DynamoDB"]
            theirs = case["overhead_us"][delivery]["Powertools + DynamoDB"]
            checks.append(
                {
                    "target": f"idempotency on DynamoDB, batch {case['batch_size']}, "
                    f"{'first delivery' if delivery == 'first' else 'delivered again'}: "
                    "less overhead per record than Powertools'",
                    "measured": f"{ours:.0f} µs against {theirs:.0f} µs ({ours / theirs:.2f}x)",
                    "met": ours < theirs,
                }
            )
    return checks


def table(results: dict[str, Any]) -> str:
    """The idempotency rows: µs per record, the layer's overhead, the store calls per batch."""
    rows = [
        "Idempotency, per record (µs, median of the repetitions): SQS batches of fresh messages (first "
        "delivery: every key claimed and completed), then the same batch again (every key skipped). "
        "Overhead = the contender less its base in the same repetition. On LocalStack, DynamoDB is moto: "
        "compare the calls, not the milliseconds, with AWS.",
        "",
        "| store | batch | contender | first: µs/record | overhead | again: µs/record | overhead "
        "| calls per batch, first | again |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for part in (results.get("memory"), results.get("dynamodb")):
        if not part:
            continue
        for case in part["cases"]:
            us, overhead, calls = case["us_per_record"], case["overhead_us"], case["calls_per_batch"]
            for name in us["first"]:
                rows.append(
                    f"| {part['store']} | {case['batch_size']} | {name} | {us['first'][name]:.1f} "
                    f"| {_signed(overhead['first'].get(name))} | {us['again'][name]:.1f} "
                    f"| {_signed(overhead['again'].get(name))} | {_calls(calls['first'].get(name))} "
                    f"| {_calls(calls['again'].get(name))} |"
                )
    return "\n".join(rows)


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}"


def _calls(counts: dict[str, int] | None) -> str:
    if not counts:
        return ""
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
