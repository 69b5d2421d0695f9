"""The benchmark's Lambda entry point: runs the handler under test, then logs when its batch finished.

Both contenders of the end-to-end benchmark are deployed from the same zip with this entry point;
``BENCH_HANDLER_MODULE`` names the handler under test (``handler`` for shardsafe's template,
``floor_handler`` for the floor). The line it writes carries the batch's sequence numbers, which the
benchmark matches with the times it put each record: no record is decoded twice.
"""

import importlib
import json
import os
import sys
import time

_inner = importlib.import_module(os.environ["BENCH_HANDLER_MODULE"])


def lambda_handler(event, context):
    started = time.time()
    response = _inner.lambda_handler(event, context)
    finished = time.time()
    records = event.get("Records") or []
    line = {
        "started": started,
        "finished": finished,
        "sequenceNumbers": [record["kinesis"]["sequenceNumber"] for record in records],
        "failures": len((response or {}).get("batchItemFailures") or []),
    }
    sys.stdout.write("BENCH-DONE " + json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return response
