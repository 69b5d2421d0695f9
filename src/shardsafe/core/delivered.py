"""Records as delivered: what a source hands to user code as it is, snapshotted, and put back when needed.

Most sources hand user code new objects (data decoded from the record's bytes; ``record.raw`` is a
copy made when read). DynamoDB's stream record is data already, and copying it for every record would
cost three times what a snapshot does (docs/handler.md), so it is handed out as it is
(:attr:`Source.hands_out <shardsafe.core.sources.base.Source.hands_out>`): :meth:`AsDelivered.keeping`
snapshots that part of each record before the pipeline runs, and the run loop calls
:meth:`AsDelivered.restore` before a record user code had is quarantined, handed back or tried again.
A processed record is not put back: its changes are its handler's, and Lambda throws the event away.
"""

from __future__ import annotations

from shardsafe.core.records import Snapshot

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.records import Record
    from shardsafe.core.sources.base import Source

    Attempt = Callable[[Any], Record]


class AsDelivered:
    """The snapshots of one invocation, by raw record (``id(raw)``: the batch holds every raw record to its end)."""

    __slots__ = ("_snapshots",)

    def __init__(self) -> None:
        self._snapshots: dict[int, tuple[str, Snapshot]] = {}

    def keeping(self, attempt: Attempt, source: Source) -> Attempt:
        """``attempt``, snapshotting first what ``source`` hands out of a raw record as it is; ``attempt``
        itself when the source hands out nothing (Kinesis, SQS: no cost)."""
        key = source.hands_out
        if key is None:
            return attempt
        snapshots = self._snapshots

        def attempt_keeping(raw: Any) -> Record:
            if id(raw) not in snapshots:  # the first time only: a retry starts from the record put back
                try:
                    part = raw[key]
                except (KeyError, TypeError, IndexError):
                    pass  # not there: the source's extract rejects the record
                else:
                    snapshots[id(raw)] = (key, Snapshot(part))
            return attempt(raw)

        return attempt_keeping

    def restore(self, raw: Any) -> bool:
        """Put back, as delivered, what user code was given of ``raw`` as it is; whether there was anything to."""
        if not self._snapshots:
            return False
        kept = self._snapshots.get(id(raw))
        if kept is None:
            return False
        key, snapshot = kept
        try:  # noqa: SIM105 - contextlib is not loaded when a handler starts: its import would cost the cold start
            raw[key] = snapshot.copy()
        except TypeError:  # a part not even copy.deepcopy could copy: kept as it is now
            pass
        return True
