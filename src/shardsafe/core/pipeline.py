"""The record pipeline: the stages one record goes through, built once per processor and source.

    raw record → extract (the source) → [resolve a large-message pointer] → decode → validate → handle → Record

:func:`build_attempt` composes the configured stages into one function, ``attempt(raw)``, that
returns the handled :class:`~shardsafe.Record` or raises: a :class:`~shardsafe.core.errors.Rejection`
(poison found by a stage, with the bytes read so far), a :class:`~shardsafe.core.policy.HandlerFailed`
(the user's handler raised; it carries the record), or a retryable exception from the validator.
The run loop (:mod:`shardsafe.core.run`) calls it for every record and again for an in-process
retry, so there is one pipeline for every path. A stage that is not configured costs nothing.

The stages themselves are in :mod:`shardsafe.core.stages`: decode, validate, handle. Batch-wide
stages run before the loop (a KPL aggregate expanded into its user records) or around it
(idempotency), on the :class:`~shardsafe.core.sources.Batch`.
"""

from __future__ import annotations

from shardsafe.core.errors import Rejection
from shardsafe.core.policy import NEVER_CAUGHT, HandlerFailed
from shardsafe.core.stages.handle import PLAIN_RESULTS

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.records import Record
    from shardsafe.core.sources.base import Source


def build_attempt(
    source: Source,
    decode: Callable[[bytes], Any] | None,
    validate: Callable[[Any], Any] | None,
    handle: Callable[[Record], Any] | None,
    resolve: Callable[[bytes, Any, Source], bytes] | None = None,
    finish: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Record]:
    """``attempt(raw) -> Record``: every configured stage, in order, for one raw record.

    ``validate`` returns the data the handler gets (the same object, or a converted one). ``resolve``
    reads what a large-message pointer names, for a source whose bodies may be one
    (:mod:`shardsafe.core.stages.pointers`); the record's payload stays the body as delivered.
    ``finish`` turns what the handler returned into the record's result (an awaitable is awaited:
    :meth:`~shardsafe.core.stages.handle.EventLoop.resolve`); it is called only for results that are
    not plain values. Without ``handle``, ``attempt`` builds the record as delivered, decoded and
    validated: what a batch handler's retry or bisection half starts from.
    """
    extract: Callable[[Any], Any] = source.extract
    make: Callable[[Any, bytes | None, Any], Record] = source.record_class
    if not source.decodes:
        decode = None
    if decode is None or not source.carries_pointers:
        resolve = None
    if resolve is not None:
        extract, make = _resolving(source, resolve)
    plain = PLAIN_RESULTS

    # The hot path: the same closure for every source; what a source adds (a pointer to read) changes
    # what ``extract`` and ``make`` are, not this body.
    def attempt(raw: Any) -> Record:
        payload = extract(raw)
        if decode is not None:
            try:
                data = decode(payload)
            except Rejection as rejection:
                rejection.payload = payload  # the bytes as read: quarantined as they are, not read again
                raise
        else:
            data, payload = payload, None
        if validate is not None:
            try:
                data = validate(data)
            except Rejection as rejection:
                rejection.payload = payload
                raise
        record = make(raw, payload, data)
        if handle is not None:
            try:
                result = handle(record)
                if type(result) not in plain and finish is not None:
                    result = finish(result)
            except BaseException as error:
                if isinstance(error, NEVER_CAUGHT):
                    raise
                raise HandlerFailed(error, record) from None
            record.result = result
        return record

    if resolve is None:
        return attempt

    def attempt_with_pointers(raw: Any) -> Record:
        try:
            return attempt(raw)
        except Rejection as rejection:
            rejection.payload = None  # quarantined with the body as delivered (the pointer), read again
            raise

    return attempt_with_pointers


def _resolving(
    source: Source, resolve: Callable[[bytes, Any, Source], bytes]
) -> tuple[Callable[[Any], bytes], Callable[[Any, bytes | None, Any], Record]]:
    """``extract`` and ``make`` for a source whose bodies may be large-message pointers: what is decoded
    is what the pointer names; the record's payload stays the body as delivered."""
    read, kind = source.extract, source.record_class

    def extract(raw: Any) -> bytes:
        return resolve(read(raw), raw, source)

    def make(raw: Any, payload: bytes | None, data: Any) -> Record:
        return kind(raw, None, data)  # ``record.payload`` reads the delivered body when asked

    return extract, make
