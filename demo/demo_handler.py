"""The demo's Lambda entry point: the handler template, plus one record that crashes the process.

Added to the function's zip as ``demo_handler.py`` (demo.function) for the demo and the end-to-end
tests. A record whose data is exactly CRASH_PAYLOAD ends the process before anything is handled, the
way a segfaulting native library or an out-of-memory kill would, so the whole batch fails, Lambda
retries it, and after the configured retries the batch lands in the on-failure destination. Runs
inside the Lambda runtime: standard library and the zip's contents only.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any

CRASH_PAYLOAD = b'{"shardsafe-demo": "crash"}'
CRASH_LOG_LINE = "shardsafe-demo: crash record seen, exiting the process"


def lambda_handler(event: Any, context: Any) -> Any:
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records or []:
        try:
            data = base64.b64decode(record["kinesis"]["data"], validate=True)
        except (KeyError, TypeError, ValueError):
            continue
        if data == CRASH_PAYLOAD:
            print(f"{CRASH_LOG_LINE} (sequence number {record['kinesis'].get('sequenceNumber')})", flush=True)
            sys.stderr.flush()
            os._exit(70)
    import handler  # type: ignore[import-not-found]  # the template at the zip root (imported here so the demo tooling can read this module)

    return handler.lambda_handler(event, context)
