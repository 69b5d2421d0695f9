"""A quarantine sink of your own: the contract in shardsafe.core.quarantine.sink, kept by a tested example.

This one keeps each envelope's body in a list and refuses envelopes of one reason, to show how a sink
says what it did not deliver: by position in what it was given. What it refuses, shardsafe keeps in
S3 (the claim-check store, when the sink has one) or in the log, in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from shardsafe import QuarantineSink, StreamProcessor
from shardsafe.core.quarantine.envelope import Envelope
from shardsafe.core.quarantine.sink import Undelivered


class ListSink(QuarantineSink):
    max_message_bytes = 65_536  # the largest envelope it takes; a bigger one is sent without its payload

    def __init__(self, refuse_reason: str | None = None) -> None:
        self.kept: list[str] = []
        self.refuse_reason = refuse_reason

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[Undelivered]:
        undelivered: list[Undelivered] = []
        for position, envelope in enumerate(envelopes):
            if envelope.reason == self.refuse_reason:
                undelivered.append((position, f"this sink does not take {envelope.reason}"))
            else:
                self.kept.append(envelope.to_body())
        return undelivered


sink = ListSink(refuse_reason="invalid_utf8")
processor = StreamProcessor(lambda record: record.data, quarantine=sink)
