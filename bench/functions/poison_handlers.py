"""The headline benchmark's handlers: the same business on each record, raising on the poison record.

``BENCH_POISON_HANDLER`` chooses the handler, deployed under ``bench_entry.py``:

- ``shardsafe``: a :class:`shardsafe.StreamProcessor` around the record handler, as a user writes
  it; the exception quarantines that record (SHARDSAFE_QUARANTINE_QUEUE_URL) and the batch succeeds.
- ``powertools``: aws-lambda-powertools' ``BatchProcessor(event_type=EventType.KinesisDataStreams)``
  with ``process_partial_response``, as its documentation recommends; the exception makes the
  record a batch-item failure.
- ``raises``: a plain loop with no isolation, the exception failing the whole invocation: what the
  module's bisect-on-error is for, and what the benchmark's own tests use to show it sees loss.

The poison is a stock tick whose ``PRICE`` is not a number: it decodes as JSON, and ``float()``
raises in the record handler, where each library expects a record's failure to show.
"""

import os


def business(tick):
    """The business logic of every contender (bench/contenders.py's): trivial on purpose."""
    return float(tick["PRICE"]) * 2


def _shardsafe():
    from shardsafe import StreamProcessor

    return StreamProcessor(lambda record: business(record.data))


def _powertools():
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

    def record_handler(record):
        return business(record.kinesis.data_as_json())

    def handler(event, context):
        return process_partial_response(event, record_handler, processor, context)

    return handler


def _raises():
    import base64
    import json

    def handler(event, context):
        for record in event["Records"]:
            business(json.loads(base64.b64decode(record["kinesis"]["data"])))
        return {"batchItemFailures": []}

    return handler


HANDLERS = {"shardsafe": _shardsafe, "powertools": _powertools, "raises": _raises}

lambda_handler = HANDLERS[os.environ["BENCH_POISON_HANDLER"]]()
