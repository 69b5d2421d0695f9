"""Per-record cost of the contenders on synthetic Kinesis events, in one process and one run.

For each record size, batch size and poison rate, one event is built and every contender is run
on it: once to warm up (and to check that they agree on which records are poison), then in
repetitions, interleaved (the order rotates each repetition) so that a noisy moment on a shared
machine hits them all alike. A sample is one or more calls on the same event, enough calls for
``min_records`` records, after a ``gc.collect()``; the garbage collector stays on while timing, as
it is in Lambda. Samples are short (1,000 records: milliseconds on small records) so that the
runs of a repetition are close together, and there are at least ``repetitions`` of them and
enough for ``min_total_records`` records per contender: dozens where samples are short. Wall time
is ``time.perf_counter_ns``; the thread's CPU time is kept beside it, as a check on a busy machine.
A ratio is the median of the per-repetition ratios, so that a slow second, which slows every run
of a repetition alike, does not decide it. The targets compare shardsafe with ``floor``, the
fastest plain loop (see :mod:`bench.contenders`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bench import contenders, events

RECORD_SIZES = (100, 1024, 10240)
BATCH_SIZES = (100, 1000, 10000)
POISON_RATES = (0.0, 0.01, 0.1)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send stdout (shardsafe's JSON log lines) to /dev/null: written, as in Lambda, but not shown."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def _check_same_work(
    event: dict[str, Any], handlers: dict[str, Any], quarantine: contenders.MemorySqsClient, expected: int
) -> None:
    """Run each contender once (the warm-up) and make sure each set aside exactly the poison records."""
    context = contenders.LambdaContext()
    for name, handler in handlers.items():
        response = handler(event, context)
        # shardsafe quarantines poison and answers success; the others return batch-item failures.
        found = quarantine.messages if name == "shardsafe" else len(response["batchItemFailures"])
        if found != expected:
            raise RuntimeError(f"{name} set aside {found} records of a batch with {expected} poison ones")


def measure_case(
    record_size: int,
    batch_size: int,
    poison_rate: float,
    *,
    repetitions: int = 7,
    min_records: int = 1000,
    min_total_records: int = 0,
    names: Sequence[str] = contenders.CONTENDERS,
    make: Callable[[str, contenders.MemorySqsClient], contenders.Handler] | None = None,
) -> dict[str, Any]:
    """One cell of the grid: µs per record for each contender, and the ratios between them.

    ``make(name, quarantine)`` builds each contender (default: :mod:`bench.contenders`'); shardsafe's sends
    its poison to ``quarantine``, whose count checks that every contender set aside the same records.
    """
    event = events.kinesis_event(batch_size, record_size, poison_rate)
    poison = len(events.poison_indices(batch_size, poison_rate))
    quarantine = contenders.MemorySqsClient()
    handlers = {name: (make or _make)(name, quarantine) for name in names}
    context = contenders.LambdaContext()
    calls = max(1, -(-min_records // batch_size))
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    records = calls * batch_size
    repetitions = max(repetitions, -(-min_total_records // records))
    with quiet_stdout():
        _check_same_work(event, handlers, quarantine, poison)
        for repetition in range(repetitions):
            shift = repetition % len(names)
            for name in [*names[shift:], *names[:shift]]:
                handler = handlers[name]
                gc.collect()
                started_cpu = time.thread_time_ns()
                started = time.perf_counter_ns()
                for _ in range(calls):
                    handler(event, context)
                elapsed = time.perf_counter_ns() - started
                elapsed_cpu = time.thread_time_ns() - started_cpu
                wall[name].append(elapsed / records / 1000)
                cpu[name].append(elapsed_cpu / records / 1000)
    return {
        "record_size": record_size,
        "batch_size": batch_size,
        "poison_rate": poison_rate,
        "poison_records": poison,
        "repetitions": repetitions,
        "calls_per_sample": calls,
        "us_per_record": {name: statistics.median(wall[name]) for name in names},
        "cpu_us_per_record": {name: statistics.median(cpu[name]) for name in names},
        "ratios": _ratios(wall, names),
        "cpu_ratios": _ratios(cpu, names),
        "samples_us_per_record": wall,
    }


def _make(name: str, quarantine: contenders.MemorySqsClient) -> contenders.Handler:
    return contenders.shardsafe(quarantine) if name == "shardsafe" else contenders.make(name)


def _ratios(samples: dict[str, list[float]], names: Sequence[str]) -> dict[str, float]:
    """shardsafe against each other contender: the median of the per-repetition ratios."""
    if "shardsafe" not in names:
        return {}
    ours = samples["shardsafe"]
    return {
        f"shardsafe/{other}": statistics.median(a / b for a, b in zip(ours, samples[other], strict=True))
        for other in names
        if other != "shardsafe"
    }


def measure_grid(
    record_sizes: Sequence[int],
    batch_sizes: Sequence[int],
    poison_rates: Sequence[float],
    *,
    repetitions: int,
    min_records: int,
    min_total_records: int,
    progress: Callable[[str], None] | None = None,
    names: Sequence[str] = contenders.CONTENDERS,
    make: Callable[[str, contenders.MemorySqsClient], contenders.Handler] | None = None,
    label: str = "",
) -> list[dict[str, Any]]:
    """Every cell of a grid as :func:`measure_case` measures it; ``progress`` hears of each as it ends."""
    cases = []
    for record_size in record_sizes:
        for batch_size in batch_sizes:
            for poison_rate in poison_rates:
                case = measure_case(
                    record_size,
                    batch_size,
                    poison_rate,
                    repetitions=repetitions,
                    min_records=min_records,
                    min_total_records=min_total_records,
                    names=names,
                    make=make,
                )
                cases.append(case)
                if progress is not None:
                    us = case["us_per_record"]
                    progress(
                        f"{record_size:>6} B x {batch_size:>6}, {poison_rate:>4.0%} poison{label}: "
                        + ", ".join(f"{name} {us[name]:.2f}" for name in us)
                        + " µs/record"
                    )
    return cases


def measure(
    record_sizes: Sequence[int] = RECORD_SIZES,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    poison_rates: Sequence[float] = POISON_RATES,
    *,
    repetitions: int = 7,
    min_records: int = 1000,
    min_total_records: int = 30_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The whole grid; ``progress`` is told about each cell as it finishes."""
    cases = measure_grid(
        record_sizes,
        batch_sizes,
        poison_rates,
        repetitions=repetitions,
        min_records=min_records,
        min_total_records=min_total_records,
        progress=progress,
    )
    return {
        "contenders": list(contenders.CONTENDERS),
        "clock": "time.perf_counter_ns (wall); cpu_* from time.thread_time_ns",
        "cases": cases,
    }


# --- what a handler may change, and what that costs ---

#: The variants of :func:`measure_mutation_safety`, in pairs: shardsafe as shipped, and the same run with
#: the safeguard switched off (unsafe: for comparison only), so that the difference is the safeguard's cost.
MUTATION_VARIANTS = (
    "kinesis, handler reads data",
    "kinesis, handler reads record.raw too",
    "kinesis, record + batch handler, snapshot (as shipped)",
    "kinesis, record + batch handler, no snapshot (unsafe)",
)


class _NoSnapshot:
    """Stands in for :class:`shardsafe.core.records.Snapshot` in the unsafe variant: takes nothing."""

    def __init__(self, value: Any) -> None:
        pass

    def copy(self) -> Any:
        raise TypeError("no snapshot")


@contextlib.contextmanager
def _unsafe(variant: str) -> Iterator[None]:
    """The safeguard of ``variant`` switched off, for the unsafe variants only."""
    from shardsafe.core.stages import batch

    if "snapshot" in variant and "unsafe" in variant:
        saved_snapshot = batch.Snapshot
        batch.Snapshot = _NoSnapshot  # type: ignore[assignment, misc]
        try:
            yield
        finally:
            batch.Snapshot = saved_snapshot
    else:
        yield


def _mutation_handler(variant: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The processor of ``variant`` and the event it runs on."""
    from shardsafe import MemoryMetrics, StreamProcessor

    def reads_data(record: Any) -> float:
        return contenders.business(record.data)

    def reads_raw(record: Any) -> float:
        return contenders.business(record.data) if record.raw["kinesis"]["partitionKey"] else 0.0

    def batch(records: list[Any]) -> None:
        return None

    options: dict[str, Any] = {"metrics": MemoryMetrics(), "tracing": False}
    if "batch handler" in variant:
        return StreamProcessor(reads_data, batch_handler=batch, **options), {}
    return StreamProcessor(reads_raw if "raw" in variant else reads_data, **options), {}


def measure_mutation_safety(
    record_size: int = 1024, batch_size: int = 100, *, repetitions: int = 15, min_records: int = 2000
) -> dict[str, Any]:
    """µs of thread CPU time per record for each of :data:`MUTATION_VARIANTS`, interleaved, and what each
    safeguard costs (the median of the per-repetition differences between its pair)."""
    kinesis = events.kinesis_event(batch_size, record_size)
    processors = {variant: _mutation_handler(variant)[0] for variant in MUTATION_VARIANTS}
    context = contenders.LambdaContext()
    calls = max(1, -(-min_records // batch_size))
    cpu: dict[str, list[float]] = {variant: [] for variant in MUTATION_VARIANTS}
    with quiet_stdout():
        for repetition in range(repetitions + 1):  # the first is a warm-up
            shift = repetition % len(MUTATION_VARIANTS)
            for variant in [*MUTATION_VARIANTS[shift:], *MUTATION_VARIANTS[:shift]]:
                event = kinesis
                processor = processors[variant]
                with _unsafe(variant):
                    gc.collect()
                    started = time.thread_time_ns()
                    for _ in range(calls):
                        processor(event, context)
                    elapsed = time.thread_time_ns() - started
                if repetition:
                    cpu[variant].append(elapsed / (calls * batch_size) / 1000)
    pairs = {
        "reading record.raw (a copy, made on first read)": MUTATION_VARIANTS[0:2][::-1],
        "a snapshot for the batch handler's retries and halves": MUTATION_VARIANTS[2:4],
    }
    return {
        "record_size": record_size,
        "batch_size": batch_size,
        "repetitions": repetitions,
        "clock": "time.thread_time_ns",
        "cpu_us_per_record": {variant: statistics.median(cpu[variant]) for variant in MUTATION_VARIANTS},
        "costs_us_per_record": {
            what: statistics.median(a - b for a, b in zip(cpu[with_it], cpu[without], strict=True))
            for what, (with_it, without) in pairs.items()
        },
    }
