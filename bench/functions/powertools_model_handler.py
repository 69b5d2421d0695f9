"""Powertools' batch utility with its parser and the same model, as its documentation configures it.

"Processing messages from Kinesis" with Pydantic (docs/utilities/batch.md): the record model subclasses
``KinesisDataStreamRecord``, its payload ``KinesisDataStreamRecordPayload`` with ``data: Json[Tick]``;
``BatchProcessor(event_type=EventType.KinesisDataStreams, model=...)`` and ``process_partial_response``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import (
    KinesisDataStreamRecord,
    KinesisDataStreamRecordPayload,
)
from aws_lambda_powertools.utilities.parser.types import Json

try:  # deployed (the cold start): tick_model.py is beside this file
    from tick_model import Tick, business
except ImportError:  # in process (bench/model_cost.py)
    from bench.functions.tick_model import Tick, business


class TickKinesisPayloadRecord(KinesisDataStreamRecordPayload):
    data: Json[Tick]  # type: ignore[assignment]


class TickKinesisRecord(KinesisDataStreamRecord):
    kinesis: TickKinesisPayloadRecord


processor = BatchProcessor(event_type=EventType.KinesisDataStreams, model=TickKinesisRecord)


def record_handler(record: TickKinesisRecord) -> float:
    return business(record.kinesis.data)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
