"""Tumbling windows: the window and its state come in with the batch, the new state goes out with the response.

With ``TumblingWindowInSeconds`` on a Kinesis or DynamoDB Streams mapping, Lambda sends each batch with
the window it belongs to and the state the function returned last for that window, and the function's
response must carry the new ``state`` (without it, Lambda counts the invocation as failed). On the
last invocation of a window (``isFinalInvokeForWindow``) the function acts on the result; the state is
then dropped and the next window starts from ``{}``. AWS documents the event and the response in
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html (DynamoDB:
``services-ddb-windows.html``).

::

    def count(window: TumblingWindow, records: list[KinesisRecord]) -> dict[str, int]:
        state = dict(window.state)
        for record in records:
            state[record.partition_key] = state.get(record.partition_key, 0) + 1
        if window.is_final:
            publish(window.start, state)      # the window's result so far (see below)
        return state

    processor = StreamProcessor(window_handler=count)   # a record handler may check each record first

The window handler gets the records of the batch that were processed (decoded, validated, handled):
poison is quarantined before it counts, as ever. It is called like a batch handler, so:

- it raises poison: the records are split in two and each half is aggregated again, down to the ones it
  fails on, which are quarantined; the state keeps what the halves that succeeded returned. On a final
  invocation each part that succeeds is a call with ``is_final`` set and the state so far: emit the
  running total where a later emit replaces an earlier one (one key, as the template does), so that the
  last holds the whole window;
- it raises a retryable error: its records are handed back (with every later one, as a stream
  requires), and the state returned is the state before them, so Lambda's retry counts them once;
- it is called on a batch without records too (the final invocation may have none), so it can emit.
  There, a retryable error leaves ``state`` out of the response, which makes Lambda invoke again; a
  poison one is logged with the state (``shardsafe.window_failed``), and the window goes on.

Each call gets its own copy of the state, and what it returns must be a JSON object (the state Lambda
keeps; at most 1 MB, or Lambda ends the window early). An event with a window but a processor without a
window handler returns the state it was given, so the mapping does not stall; a warning says so once.
"""

from __future__ import annotations

import json

from shardsafe.core.errors import qualified_name, safe_str
from shardsafe.core.records import detached
from shardsafe.core.telemetry import logs

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.policy import Policy
    from shardsafe.core.records import Record
    from shardsafe.core.run import Invocation
    from shardsafe.core.sources.base import Source

    WindowHandler = Callable[["TumblingWindow", list[Any]], Any]
    BatchOptions = tuple[Callable[[Any], Any], Callable[[Source], Callable[[Any], Record]], bool]

#: The log line of a window handler's poison failure on a batch without records (with the state).
WINDOW_FAILED = "shardsafe.window_failed"


class TumblingWindow:
    """The tumbling window a batch belongs to, and the state the function returned last for it."""

    __slots__ = ("end", "event_source_arn", "is_final", "shard_id", "start", "state", "terminated_early")

    def __init__(
        self,
        *,
        start: str | None,
        end: str | None,
        state: dict[str, Any],
        shard_id: str | None = None,
        event_source_arn: str | None = None,
        is_final: bool = False,
        terminated_early: bool = False,
    ) -> None:
        #: When the window opens and closes (ISO 8601, UTC: ``2020-12-09T07:04:00Z``).
        self.start, self.end = start, end
        #: The aggregate so far: what the function returned last for this window, ``{}`` at its start.
        self.state = state
        self.shard_id = shard_id
        self.event_source_arn = event_source_arn
        #: The window's last invocation (``isFinalInvokeForWindow``): act on the result; the state is dropped.
        self.is_final = is_final
        #: Lambda ended the window early (``isWindowTerminatedEarly``: the state passed 1 MB).
        self.terminated_early = terminated_early

    def with_state(self, state: dict[str, Any]) -> TumblingWindow:
        return TumblingWindow(
            start=self.start,
            end=self.end,
            state=state,
            shard_id=self.shard_id,
            event_source_arn=self.event_source_arn,
            is_final=self.is_final,
            terminated_early=self.terminated_early,
        )

    def __repr__(self) -> str:
        final = " final" if self.is_final else ""
        return f"<TumblingWindow {self.start}..{self.end}{final} state={len(self.state)} keys>"


def read_window(event: dict[str, Any]) -> TumblingWindow | None:
    """The window of a tumbling-window event; None for an event without one."""
    window = event.get("window")
    if type(window) is not dict:
        return None
    state = event.get("state")
    return TumblingWindow(
        start=_str(window.get("start")),
        end=_str(window.get("end")),
        state=state if type(state) is dict else {},
        shard_id=_str(event.get("shardId")),
        event_source_arn=_str(event.get("eventSourceARN")),
        is_final=event.get("isFinalInvokeForWindow") is True,
        terminated_early=event.get("isWindowTerminatedEarly") is True,
    )


class WindowAggregate:
    """The window handler as a batch handler: each call that returns commits the state it returned."""

    __slots__ = ("batch_handler", "state", "window", "window_handler")

    def __init__(
        self,
        window: TumblingWindow,
        window_handler: WindowHandler,
        batch_handler: Callable[[list[Record]], Any] | None = None,
    ) -> None:
        self.window = window
        self.window_handler = window_handler
        self.batch_handler = batch_handler
        #: The state so far: the window's, then what each call that succeeded returned.
        self.state: dict[str, Any] = window.state

    def __call__(self, records: list[Record]) -> None:
        if self.batch_handler is not None and records:
            self.batch_handler(records)
        state = self.window_handler(self.window.with_state(detached(self.state)), records)
        self.state = checked_state(state, self.window_handler)


def run_window(
    run: Invocation,
    window: TumblingWindow,
    window_handler: WindowHandler,
    batch_handler: Callable[[list[Record]], Any] | None,
    policy: Policy,
    options: BatchOptions,
) -> None:
    """Aggregate the batch's processed records into the window's state; the response carries the new state.

    ``options``: how the run loop calls a batch handler (the processor's ``_batch_options``): results
    finished, records rebuilt from what Lambda delivered for each retry and half, a snapshot or not.
    """
    aggregate = WindowAggregate(window, window_handler, batch_handler)
    extras = run.result.response_extras
    if run.collected:
        finish, prepare_for, snapshot = options
        run.run_batch_handler(aggregate, finish, prepare_for, snapshot=snapshot)
    else:
        run.collected = None
        try:
            aggregate([])
        except Exception as error:
            if policy.is_retryable(error):
                # Without a state in the response, Lambda counts the invocation as failed and invokes again.
                if run.sources:
                    run.observer.retryable(error, run.sources[0], [])
                extras.pop("state", None)
                return
            logs.emit_in_parts(
                logs.ERROR,
                WINDOW_FAILED,
                {
                    "error_type": qualified_name(type(error)),
                    "error_message": safe_str(error),
                    "window_start": window.start,
                    "window_end": window.end,
                    "final": window.is_final,
                    "shard_id": window.shard_id,
                    "stream_arn": window.event_source_arn,
                },
                "state",
                json.dumps(window.state),
            )
    extras["state"] = aggregate.state


def checked_state(state: object, window_handler: object) -> dict[str, Any]:
    """The state a window handler returned, if Lambda can keep it: a JSON object."""
    if type(state) is not dict:
        name = getattr(window_handler, "__qualname__", None) or type(window_handler).__name__
        raise TypeError(
            f"the window handler {name} returned {type(state).__name__}, not the new state: "
            "return a dict (JSON object), {} to start afresh"
        )
    try:
        json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"the window's state must be JSON for Lambda to keep it ({error}): store numbers as int or "
            "float (not Decimal), lists (not sets), text (not bytes)"
        ) from None
    return state


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
