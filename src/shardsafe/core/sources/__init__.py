"""The event sources shardsafe reads, by the ``eventSource`` Lambda puts in each record.

Adding a source is a module with a :class:`~shardsafe.core.sources.base.Source` subclass and its
:class:`~shardsafe.core.records.Record` subclass, plus one line in ``SOURCES``.
"""

from __future__ import annotations

from shardsafe.core.sources.base import Source
from shardsafe.core.sources.dynamodb import DYNAMODB, DynamoDBRecord, DynamoDBSource
from shardsafe.core.sources.kinesis import KINESIS, KinesisRecord, KinesisSource
from shardsafe.core.sources.sqs import SQS, SqsRecord, SqsSource

SOURCES: dict[str, Source] = {
    KINESIS: KinesisRecord.source,
    DYNAMODB: DynamoDBRecord.source,
    SQS: SqsRecord.source,
}

__all__ = [
    "DYNAMODB",
    "KINESIS",
    "SOURCES",
    "SQS",
    "DynamoDBRecord",
    "DynamoDBSource",
    "KinesisRecord",
    "KinesisSource",
    "Source",
    "SqsRecord",
    "SqsSource",
]
