"""Memory: how much a contender's resident set grows while it processes one large batch.

Each contender runs in a fresh interpreter: it imports what it needs, builds the event (by default
10,000 records of 10 KiB), collects garbage, resets the kernel's high-water mark
(``/proc/self/clear_refs``), processes the batch once and reads the new high-water mark
(``VmHWM``). The growth is that peak less the resident size just before the call, so the event
Lambda hands the function (a dict of base64 strings) is not counted, and what the handler keeps
or makes while it runs is. A second interpreter measures the same call under ``tracemalloc``: the
Python heap's peak, which excludes the allocator's slack. Both are compared with the payload: the
decoded bytes of every record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shardsafe_harness import paths

from bench import contenders
from bench.child import RESULT_MARK, run_python

CHILD = """
import gc, json, sys, tracemalloc
sys.path.insert(0, {repo!r})
from bench import contenders, events, handler_cost

def resident_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field + " not in /proc/self/status")

name, batch_size, record_size, traced = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
handler = contenders.make(name)
warm = events.kinesis_event(2, record_size)
with handler_cost.quiet_stdout():
    handler(warm, contenders.LambdaContext())  # lazy imports happen here, not in the measured call
baseline = resident_kib("VmRSS")
event = events.kinesis_event(batch_size, record_size)
payload = events.payload_bytes(event)
gc.collect()
before = resident_kib("VmRSS")
if traced:
    tracemalloc.start()
else:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from the current size
with handler_cost.quiet_stdout():
    response = handler(event, contenders.LambdaContext())
if traced:
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result = {{"heap_peak_bytes": heap_peak}}
else:
    result = {{"rss_growth_bytes": (resident_kib("VmHWM") - before) * 1024, "rss_before_bytes": before * 1024}}
result.update(
    payload_bytes=payload,
    event_rss_bytes=(before - baseline) * 1024,
    failures=len(response["batchItemFailures"]),
)
print({mark!r} + json.dumps(result))
"""


def run_child(name: str, batch_size: int, record_size: int, *, traced: bool) -> dict[str, Any]:
    result, _ = run_python(
        CHILD.format(repo=str(paths.REPO), mark=RESULT_MARK),
        [name, str(batch_size), str(record_size), "1" if traced else "0"],
        what=f"memory run of {name!r}",
        timeout_s=600,
    )
    return result


def measure(
    batch_size: int = 10_000,
    record_size: int = 10_240,
    *,
    names: Sequence[str] = contenders.CONTENDERS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Peak RSS growth and Python-heap peak of each contender on one batch, against the payload size."""
    results: dict[str, Any] = {}
    payload = 0
    for name in names:
        rss = run_child(name, batch_size, record_size, traced=False)
        heap = run_child(name, batch_size, record_size, traced=True)
        payload = rss["payload_bytes"]
        results[name] = {
            "rss_growth_bytes": rss["rss_growth_bytes"],
            "heap_peak_bytes": heap["heap_peak_bytes"],
            "rss_growth_x_payload": rss["rss_growth_bytes"] / payload,
            "heap_peak_x_payload": heap["heap_peak_bytes"] / payload,
            "event_rss_bytes": rss["event_rss_bytes"],
        }
        if progress is not None:
            progress(
                f"{name:<11} peak RSS growth {rss['rss_growth_bytes'] / 2**20:7.1f} MiB "
                f"({results[name]['rss_growth_x_payload']:.2f}x payload), "
                f"Python heap peak {heap['heap_peak_bytes'] / 2**20:7.1f} MiB"
            )
    return {
        "batch_size": batch_size,
        "record_size": record_size,
        "payload_bytes": payload,
        "contenders": results,
    }
