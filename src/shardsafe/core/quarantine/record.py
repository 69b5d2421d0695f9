"""A quarantined record: the outcome of a poison record, with what its log line and envelope need."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from typing import Any

    from shardsafe.core.sources.base import Source


class QuarantinedRecord:
    """A poison record: where it was in the batch, why it failed, and its original bytes.

    Its coordinates, sha256 and base64 are worked out once and shared by the poison log line
    and the envelope.
    """

    __slots__ = (
        "_base64",
        "_coordinates",
        "_payload",
        "_sha256",
        "error_message",
        "error_type",
        "extracted",
        "index",
        "raw",
        "reason",
        "source",
    )

    def __init__(
        self,
        source: Source,
        index: int,
        raw: Any,
        reason: str,
        error_type: str,
        error_message: str,
        payload: bytes | None = None,
        *,
        extracted: bool = False,
    ) -> None:
        """``payload``, if given, must be the record's bytes; ``extracted``: the source read them
        from ``raw`` untouched, so a base64 the record carries is theirs."""
        self.source = source
        self.index = index
        self.raw = raw
        self.reason = reason
        self.error_type = error_type
        self.error_message = error_message
        self.extracted = extracted
        self._payload = payload
        self._coordinates: dict[str, Any] | None = None
        self._sha256: str | None = None
        self._base64: str | None = None

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = self.source.raw_payload(self.raw)
        return self._payload

    @property
    def payload_sha256(self) -> str:
        if self._sha256 is None:
            import hashlib  # poison path only: OpenSSL takes milliseconds to load

            self._sha256 = hashlib.sha256(self.payload).hexdigest()
        return self._sha256

    @property
    def payload_base64(self) -> str:
        """The payload in standard base64: only the alphabet, so JSON needs no escapes for it."""
        if self._base64 is None:
            carried = self.source.encoded_payload(self.raw) if self.extracted else None
            self._base64 = carried if carried is not None else base64_text(self.payload)
        return self._base64

    def describe(self) -> dict[str, Any]:
        if self._coordinates is None:
            self._coordinates = self.source.describe(self.raw)
        return self._coordinates

    def __repr__(self) -> str:
        return f"<QuarantinedRecord #{self.index} {self.reason}: {self.error_message[:60]!r}>"


def base64_text(data: bytes) -> str:
    """``base64.b64encode(data)`` as text, without importing base64 for it."""
    import binascii  # poison path only

    return binascii.b2a_base64(data, newline=False).decode("ascii")
