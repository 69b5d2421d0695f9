"""The benchmark's Lambda entry point: runs the handler under test, then logs when its batch finished.

Every contender of the end-to-end and headline benchmarks is deployed from the same zip with this
entry point; ``BENCH_HANDLER_MODULE`` names the handler under test (``handler`` for shardsafe's
template, ``floor_handler`` for the floor, ``poison_handlers`` for the headline's). The line it
writes carries the batch's sequence numbers, the ones the handler reported as failed, and whether it
raised (the line is written then too), which the benchmark matches with the times it put each
record: no record is decoded twice.
"""

import importlib
import json
import os
import sys
import time

_inner = importlib.import_module(os.environ["BENCH_HANDLER_MODULE"])


def lambda_handler(event, context):
    started = time.time()
    response = None
    raised = None
    try:
        response = _inner.lambda_handler(event, context)
    except Exception as error:
        raised = type(error).__name__
        raise
    finally:
        records = event.get("Records") or []
        failed = (response or {}).get("batchItemFailures") or []
        line = {
            "started": started,
            "finished": time.time(),
            "sequenceNumbers": [record["kinesis"]["sequenceNumber"] for record in records],
            "failed": [failure.get("itemIdentifier") for failure in failed],
            "raised": raised,
        }
        sys.stdout.write("BENCH-DONE " + json.dumps(line, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    return response
