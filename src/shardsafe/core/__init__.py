"""The Lambda side: everything that runs inside the function, and nothing else.

How a batch flows, and the room for each part::

    event ─ sources/ (one file per source: where the records are, their ids, what a hand-back takes)
          ─ idempotency/: (opt-in) the batch's keys claimed before the loop, completed by the handlers
          ─ run.py: the run loop, the only code that settles a record's outcome (outcomes.py)
              └ pipeline.py: the stages, per record: [a large-message pointer read] → decode →
                             model/convert → validate → handle (stages/)
              └ stages/batch.py: the batch handler, bisected on poison
              └ policy.py: what a failure means (transient.py), the deadline
              └ window.py: a tumbling window's state in, the new state out
          ─ quarantine/: the flush (log lines, envelopes, claim checks, the log as last resort) and
                         the sinks (one file each: sqs.py, sns.py, memory.py)
          ─ telemetry/: the summary line, metrics, tracing, the JSON log lines

Nothing here imports :mod:`shardsafe.ops` (the operator tools), nor anything heavy at import time:
boto3 loads when a record is quarantined, aws-xray-sdk when a batch is traced (``make lint`` checks).
"""
