"""The quarantine sink contract: what the flush asks of a sink, in one place.

A sink takes envelopes (:mod:`shardsafe.core.quarantine.envelope`) and says which it could not
deliver. Subclass :class:`QuarantineSink` (or write a class with the same names: the flush reads
them, with the defaults below for what a class leaves out)::

    from shardsafe.core.quarantine.sink import QuarantineSink

    class ListSink(QuarantineSink):
        max_message_bytes = 65_536        # the largest envelope it takes, as message_size() counts it

        def __init__(self) -> None:
            self.kept: list[str] = []

        def send(self, envelopes, deadline=None):
            self.kept.extend(envelope.to_body() for envelope in envelopes)
            return []                     # every envelope delivered

    processor = StreamProcessor(handle, quarantine=ListSink())

The contract:

- :meth:`~QuarantineSink.send` delivers ``envelopes`` before ``deadline`` (a ``time.monotonic()``
  value; None: no limit) and returns one :data:`Undelivered` ``(position, why)`` for each envelope
  it did not deliver, ``position`` being the envelope's index in the sequence it was given. The flush
  keeps those (in the claim-check store, else in the log in full): a sink never loses a record by
  failing. A position out of range, or an answer that is not a list of such pairs, counts as
  "nothing delivered" (every envelope is kept elsewhere too), as does ``send`` raising.
- It must return by ``deadline``, and starts no call that may not end before it:
  :attr:`~QuarantineSink.call_seconds` is the longest one of its calls takes, and the flush does not
  start work that needs one with less time left. Creating a client (importing boto3: 0.4 s cold)
  counts: a sink that cannot create it in time sends nothing and says why.
- :attr:`~QuarantineSink.max_message_bytes`: an envelope whose :meth:`~QuarantineSink.message_size`
  is larger is sent without its payload, which is written to :attr:`~QuarantineSink.claim_checks`
  (S3) first and named by the envelope; with no store, the payload goes to the log in full.
- Failures are reported by position, never by identity or equality: a sink may copy envelopes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Protocol

    from shardsafe.core.quarantine.claimcheck import ClaimCheck
    from shardsafe.core.quarantine.envelope import Envelope

    class ClaimCheckStore(Protocol):
        """Where a record too big for a quarantine message is kept (S3: :mod:`~shardsafe.core.quarantine.claimcheck`).

        ``put`` writes ``body`` under the store's prefix plus ``key`` by ``deadline`` and returns where,
        or raises.
        """

        bucket: str
        prefix: str

        def put(self, key: str, body: bytes, *, sha256: str, deadline: float | None = None) -> ClaimCheck: ...


#: An envelope a sink did not deliver: its position in what ``send`` was given, and why.
Undelivered = tuple[int, str]

#: What the flush assumes of a sink that does not say.
DEFAULT_MAX_MESSAGE_BYTES = 262_144
DEFAULT_CALL_SECONDS = 3.0


class QuarantineSink:
    """Where poison envelopes go. One subclass per kind, one file each (``sqs.py``, ``sns.py``, ``memory.py``)."""

    #: The largest envelope it takes, in bytes as :meth:`message_size` counts them.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: The longest one delivery call can take, in seconds.
    call_seconds: float = DEFAULT_CALL_SECONDS
    #: Where a payload too big for a message is kept, or None.
    claim_checks: ClaimCheckStore | None = None

    def message_size(self, envelope: Envelope) -> int:
        """The bytes the envelope takes against :attr:`max_message_bytes`: its body and its attributes."""
        return envelope.size_with_attributes()

    def send(self, envelopes: Sequence[Envelope], deadline: float | None = None) -> list[Undelivered]:
        """Deliver ``envelopes`` by ``deadline``; return ``(position, why)`` for each one not delivered."""
        raise NotImplementedError
