"""Typed handlers: what mypy --strict accepts (tests/functional/test_typing.py checks this file).

A handler is typed on the record class of its source, and on the data's type when a model or a
converter makes it: ``KinesisRecord[Tick]`` has ``data: Tick``. ``python docs/snippets/typed_handlers.py``
runs each processor on a sample event and prints its response.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from shardsafe import BatchResponse, DynamoDBRecord, KinesisRecord, SqsRecord, StreamProcessor


class Tick(BaseModel):
    TICKER: str
    PRICE: float


def on_tick(record: KinesisRecord[Tick]) -> float:
    """``record.data`` is the validated Tick: mypy knows ``PRICE`` is a float."""
    return record.data.PRICE * 2


def on_change(record: DynamoDBRecord) -> None:
    """A DynamoDB record: the item as Python values, its keys and images, the event's name."""
    if record.event_name == "REMOVE" or record.new_image is None:
        return
    amount = record.new_image.get("amount", Decimal(0))
    print(record.table_name, record.keys, amount)


def on_messages(records: list[SqsRecord]) -> None:
    """A batch handler typed on its source's record class."""
    print([record.message_id for record in records])


ticks = StreamProcessor(on_tick, model=Tick)
table = StreamProcessor(on_change)
queue = StreamProcessor(batch_handler=on_messages)


def lambda_handler(event: dict[str, object], context: object) -> BatchResponse:
    return ticks(event, context)


if __name__ == "__main__":
    import base64
    import json

    data = base64.b64encode(json.dumps({"TICKER": "AMZN", "PRICE": 12.5}).encode()).decode()
    event: dict[str, object] = {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/ticks",
                "eventID": "shardId-000000000000:49545115243490985018280067714973144582180062593244200961",
                "kinesis": {
                    "sequenceNumber": "49545115243490985018280067714973144582180062593244200961",
                    "partitionKey": "AMZN",
                    "data": data,
                },
            }
        ]
    }
    print(json.dumps(lambda_handler(event, None)))  # {"batchItemFailures": []}
