"""The in-memory quarantine sink: keeps envelopes in a list, for tests and benchmarks."""

from __future__ import annotations

from shardsafe.core.quarantine.envelope import SQS_MESSAGE_LIMIT
from shardsafe.core.quarantine.sink import QuarantineSink, Undelivered

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from shardsafe.core.quarantine.claimcheck import MemoryClaimCheck
    from shardsafe.core.quarantine.envelope import Envelope


class MemoryQuarantine(QuarantineSink):
    """Keeps envelopes in ``envelopes``: an injectable sink for tests and benchmarks."""

    def __init__(
        self, max_message_bytes: int = SQS_MESSAGE_LIMIT, claim_checks: MemoryClaimCheck | None = None
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.claim_checks = claim_checks
        self.envelopes: list[Envelope] = []

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[Undelivered]:
        self.envelopes.extend(envelopes)
        return []
