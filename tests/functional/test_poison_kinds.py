"""Every poison kind the producer makes, through the template handler in-process, ends as the catalogue says.

The catalogue (`shardsafe.ops.produce.kinds`) names, for each kind, the reason templates/handler.py
quarantines it with and whether the quarantine carries its bytes; this checks each record by its
sequence number, so a new kind is checked here in a second rather than after an e2e deployment.
"""

from __future__ import annotations

import hashlib
from types import ModuleType

from shardsafe import MemoryQuarantine
from shardsafe.core.quarantine.claimcheck import MemoryClaimCheck
from shardsafe.ops.produce import GOOD, KINDS, generate_records
from tests import factories
from tests.functional.test_template import template

__all__ = ["template"]  # the fixture: the template handler, loaded as Lambda loads it


def test_every_poison_kind_is_quarantined_with_its_reason_and_bytes_and_the_rest_processed(
    template: ModuleType,
) -> None:
    store = MemoryClaimCheck()
    template.processor._quarantine = MemoryQuarantine(claim_checks=store)
    # Half poison: the kinds cycle through a shuffled order, so each appears exactly once.
    offered = list(generate_records(2 * len(KINDS), poison=0.5, seed=3))
    event = factories.kinesis_event([record.data for record in offered])

    response = template.lambda_handler(event, factories.FakeContext())

    assert response == {"batchItemFailures": []}
    envelopes = template.processor._quarantine.envelopes
    quarantined = {envelope.record["sequenceNumber"]: envelope for envelope in envelopes}
    assert len(quarantined) == len(envelopes), "a record was quarantined twice"
    exercised = set()
    for record, sent in zip(offered, event["Records"], strict=True):
        sequence_number = sent["kinesis"]["sequenceNumber"]
        if record.kind == GOOD:
            assert sequence_number not in quarantined, f"a good record ({record.data!r}) was quarantined"
            continue
        kind, envelope = KINDS[record.kind], quarantined[sequence_number]
        assert envelope.reason == kind.reason, f"{kind.name} quarantined as {envelope.reason}"
        assert envelope.payload_sha256 == hashlib.sha256(record.data).hexdigest()
        if kind.payload_inline:
            assert envelope.payload_bytes() == record.data, f"{kind.name}: bytes inline in the catalogue"
        else:
            assert envelope.claim_check is not None, f"{kind.name}: a claim check in the catalogue"
            assert store.objects[envelope.claim_check.key] == record.data
        exercised.add(kind.name)
    assert exercised == set(KINDS), "every kind in the catalogue ran through the handler"
