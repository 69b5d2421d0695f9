"""Idempotency, as docs/handler.md shows it: an SQS batch delivered twice is acted on once.

MemoryIdempotencyStore keeps the keys in this process (for a try-out and tests); in Lambda,
``Idempotency()`` keeps them in the table SHARDSAFE_IDEMPOTENCY_TABLE names.
"""

from __future__ import annotations

from typing import Any

from shardsafe import Idempotency, MemoryIdempotencyStore, Record, StreamProcessor

sent: list[str] = []


def send_invoice(record: Record) -> str:
    sent.append(record.data["invoice"])  # the side effect that must not happen twice
    return record.data["invoice"]


processor = StreamProcessor(send_invoice, idempotency=Idempotency(MemoryIdempotencyStore()))

queue_arn = "arn:aws:sqs:eu-west-1:123456789012:invoices"
event: dict[str, Any] = {
    "Records": [
        {
            "messageId": message_id,
            "receiptHandle": "AQEB...",
            "body": f'{{"invoice": "{invoice}"}}',
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1704067200000"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": "eu-west-1",
        }
        for message_id, invoice in [("6d0c6b4e-1", "INV-1"), ("6d0c6b4e-2", "INV-2")]
    ]
}

if __name__ == "__main__":
    print(processor.process(event).counts())  # Counts(processed=2, skipped=0, ...)
    result = processor.process(event)  # the same messages, delivered again
    print(result.counts())  # Counts(processed=0, skipped=2, quarantined=0, handed_back=0)
    print(result.response)  # {'batchItemFailures': []}
    print(sent)  # ['INV-1', 'INV-2']: each invoice sent once
