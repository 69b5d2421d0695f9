"""The floor: the fastest plain loop that does a Kinesis handler's work, the yardstick of every bench part.

Per record it does what shardsafe does for a JSON record, and nothing else: strict base64 (the C
``binascii.a2b_base64``), UTF-8, one call into the C JSON scanner (which ``json.loads`` reaches
only after two regex matches and two Python frames) and a check that it read one whole object, the
business function; a record that fails any of them is listed as a batch-item failure by its
sequence number.

Why it is the floor: timed with ``timeit`` (thread CPU time, candidates interleaved) on the bench's
own events, no other plain loop was faster. Against ``json.loads(base64.b64decode(data))`` (the
``naive`` contender), it takes 0.51x the time on 100 B records, 0.90x on 1 KiB and 0.97x on 10 KiB,
where parsing is nearly all the cost; ``json.loads`` on the decoded str took 0.76x / 0.95x / 0.98x,
``JSONDecoder().raw_decode`` 0.54x / 0.91x / 0.98x. Lenient base64, or global names instead of
the local ones below, made no measurable difference; leaving out the object and end checks saves
about 3 % on 100 B records, and they are part of the work.

Deployed beside ``bench_entry.py`` for the end-to-end part, and imported by ``bench/contenders.py``
and the cold start, so that every part measures the same loop. It imports nothing of the bench's.
"""

from __future__ import annotations

import binascii
import json
import json.scanner

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def make_handler(business: Callable[[Any], object]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler that runs ``business`` on each record's JSON object and lists the failures."""
    a2b_base64 = binascii.a2b_base64
    scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed: a class

    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            kinesis = record["kinesis"]
            try:
                text = a2b_base64(kinesis["data"], strict_mode=True).decode()
                value, end = scan_once(text, 0)
                if type(value) is not dict or (end != len(text) and not text[end:].isspace()):
                    raise ValueError("not one JSON object")
                business(value)
            except Exception:
                failures.append({"itemIdentifier": kinesis["sequenceNumber"]})
        return {"batchItemFailures": failures}

    return handler


def _tick_price(tick: dict[str, Any]) -> float:
    """The end-to-end function's business: read the tick's price, as shardsafe's template validates it."""
    return float(tick["PRICE"])


lambda_handler = make_handler(_tick_price)
