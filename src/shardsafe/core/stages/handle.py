"""The handle stage: calling the user's handler, plain or ``async def``, within the invocation's deadline.

Handlers may be ``async def``, or plain functions that return an awaitable (``lambda r: fetch(r)``
with ``async def fetch``): the awaitable is run to completion on one event loop per processor, one
record at a time, so order within a shard or message group is kept. What else a handler returns
(a generator, a mock, any object) is its result, kept as ``record.result``.

An async handler runs under :meth:`EventLoop.run`'s watch:

- the tasks it starts (``asyncio.create_task``, ``gather``) are part of its record: when the handler
  returns, they are awaited, and one that raises fails the record as the handler raising would;
  when the handler raises, they are cancelled. Either way none is left to run during the next
  record, so no record ends in two places (quarantined, and written by a task that ran on);
- at the deadline (:attr:`EventLoop.stop_at`) the handler and its tasks are cancelled and
  :class:`~shardsafe.core.policy.HandlerOutOfTime` is raised: the run loop hands the record back
  (``out_of_time``), with every record not yet settled. A task that ignores its cancellation for
  :data:`CANCEL_GRACE_SECONDS` is abandoned with its event loop, which is closed; the next record
  gets a new one.
"""

from __future__ import annotations

import sys
import time

from shardsafe.core.errors import RetryableError
from shardsafe.core.policy import HandlerOutOfTime

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from typing import Any

# inspect's CO_* flags, without importing inspect (tens of ms) for them
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200
#: Results that are never awaitable: the check after each handler call is one set lookup for them.
PLAIN_RESULTS = frozenset({type(None), bool, int, float, str, bytes, dict, list, tuple, set})
#: How long cancelled tasks get to finish (their ``finally`` blocks, closing connections) before they
#: are abandoned with their event loop.
CANCEL_GRACE_SECONDS = 0.25


def is_awaitable(result: object) -> bool:
    """Whether ``result`` is a coroutine or another awaitable (it has ``__await__``)."""
    return getattr(type(result), "__await__", None) is not None


def is_async_callable(function: object) -> bool:
    """Whether calling ``function`` gives a coroutine: ``async def`` functions, methods, partials and
    objects whose ``__call__`` is ``async def``."""
    return bool(_code_flags(function) & _CO_COROUTINE)


def is_generator_callable(function: object) -> bool:
    """Whether ``function`` is a generator or async generator function: as a handler, its body never runs."""
    return bool(_code_flags(function) & (_CO_GENERATOR | _CO_ASYNC_GENERATOR))


def _code_flags(function: object) -> int:
    import functools  # loaded already by json; a local name keeps the module's namespace small

    while isinstance(function, functools.partial):
        function = function.func
    code = getattr(function, "__code__", None)
    if code is None:
        call = getattr(type(function), "__call__", None)  # noqa: B004 - the method itself: its code says
        code = getattr(call, "__code__", None)
    return int(getattr(code, "co_flags", 0))


def _running_loop() -> object:
    asyncio = sys.modules.get("asyncio")  # no running loop without asyncio loaded
    return None if asyncio is None else asyncio._get_running_loop()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class EventLoop:
    """One event loop per processor, kept across invocations (clients bound to it stay usable), and the
    deadline of the invocation that is running (:attr:`stop_at`, a ``time.monotonic()`` value or None)."""

    __slots__ = ("__weakref__", "_loop", "_started", "stop_at", "warned")

    def __init__(self) -> None:
        self._loop: Any = None
        self._started: list[Any] = []  # the tasks created since the running handler started (one list, kept)
        self.stop_at: float | None = None
        self.warned = False  # a handler returned a generator that never started: said once, in the log

    def wrap(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``function`` (``async def``) as a plain callable that runs it to completion."""

        def run(argument: Any) -> Any:
            if _running_loop() is not None:  # checked before the coroutine exists: none is left unawaited
                raise RetryableError(
                    "an async handler cannot run while an event loop is already running in this thread: "
                    "call the processor from synchronous code, as Lambda does"
                )
            return self.run(function(argument))

        return run

    def resolve(self, result: Any) -> Any:
        """A handler's return value as the record's result: an awaitable is run to completion first.

        Called only for results that are not plain values (:data:`PLAIN_RESULTS`).
        """
        for _ in range(8):  # an awaitable that gives an awaitable: a few levels, not forever
            if not is_awaitable(result):
                if not self.warned and _unstarted_generator(result):
                    self.warned = True
                    _warn_unstarted(result)
                return result
            if _running_loop() is not None:
                close = getattr(result, "close", None)
                if callable(close):
                    close()  # a coroutine that will not be awaited: closed, not left to warn later
                raise RetryableError(
                    "the handler returned an awaitable, which cannot run while an event loop is already "
                    "running in this thread: call the processor from synchronous code, as Lambda does"
                )
            result = self.run(result if type(result).__name__ == "coroutine" else _awaited(result))
        raise TypeError(f"the handler's result is still awaitable after 8 awaits: {result!r}")

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` (a handler's) and the tasks it starts to completion, or to :attr:`stop_at`."""
        import asyncio  # only for async handlers: asyncio takes tens of ms to import

        loop = self._loop
        if loop is None or loop.is_closed():
            import weakref

            loop = self._loop = asyncio.new_event_loop()
            # The factory keeps the list, not this object: the loop must not keep its EventLoop alive.
            loop.set_task_factory(_recording_factory(self._started))
            # Closed with its processor: an unclosed loop leaks its self-pipe sockets (ResourceWarning).
            weakref.finalize(self, loop.close)
        try:
            result = loop.run_until_complete(self._supervise(coroutine, self.stop_at))
        finally:
            left = asyncio.all_tasks(loop)
            if left:
                # a task ignored its cancellation (or a BaseException left the loop half-way): it must not
                # run during the next record, so its loop goes, and the next record gets a new one
                self._loop = None
                self._started.clear()
                loop.close()
                _abandoned(left)
        if type(result) is _Exited:  # raised here, out of the loop, which it would otherwise have broken
            raise result.error
        return result

    async def _supervise(self, coroutine: Coroutine[Any, Any, Any], stop_at: float | None) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        started = self._started
        started.clear()  # the tasks created from here on: the handler's, and those it starts
        main = loop.create_task(coroutine)
        started.remove(main)
        if not await _wait_until(asyncio, {main}, stop_at):
            await self._cancel(asyncio, [main, *started])
            raise HandlerOutOfTime(
                "the handler was still running at the invocation's deadline: it was cancelled, and its "
                "record handed back to Lambda"
            )
        if main.cancelled():
            await self._cancel(asyncio, started)
            raise RetryableError("the handler's task was cancelled")
        error = main.exception()
        if error is not None or type(main.result()) is _Exited:
            # the record failed: what it started must not go on and write it anyway
            await self._cancel(asyncio, started)
            if error is not None:
                raise error
            return main.result()
        # The handler returned: its record is done when the tasks it started are (those may start more).
        waited: set[Any] = set()
        while len(waited) < len(started):
            waiting = set(started) - waited
            if not await _wait_until(asyncio, waiting, stop_at):
                await self._cancel(asyncio, started)
                names = ", ".join(sorted(_task_name(task) for task in waiting if not task.done()))
                raise HandlerOutOfTime(
                    f"tasks the handler started were still running at the invocation's deadline ({names}): "
                    "they were cancelled, and the record handed back to Lambda. A task a handler starts "
                    "is part of its record: await it, or start long-lived tasks elsewhere"
                )
            waited |= waiting
        for task in started:  # the first task that failed fails the record
            if task.cancelled():
                continue
            if task.exception() is not None:
                raise task.exception()
            if type(task.result()) is _Exited:
                return task.result()
        return main.result()

    async def _cancel(self, asyncio: Any, tasks: list[Any]) -> None:
        """Cancel ``tasks`` and give them :data:`CANCEL_GRACE_SECONDS` to end; retrieve what they raised."""
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: asyncio would otherwise log "exception was never retrieved"


def _unstarted_generator(result: object) -> bool:
    """A generator or async generator that was made and never resumed (inspect's GEN_CREATED)."""
    for prefix in ("gi_", "ag_"):
        frame = getattr(result, prefix + "frame", None)
        if frame is not None:
            return not getattr(result, prefix + "suspended", True) and not getattr(
                result, prefix + "running", True
            )
    return False


def _warn_unstarted(result: Any) -> None:
    from shardsafe.core.telemetry import logs

    code = getattr(result, "gi_code", None) or getattr(result, "ag_code", None)
    logs.emit(
        logs.WARNING,
        logs.WARNED,
        {
            "message": f"the handler returned a generator ({getattr(code, 'co_qualname', '?')}) that has not run: "
            "its record counts as processed. If the record's work is in that generator's body, it never "
            "happened: call it as a handler (shardsafe refuses a generator function) or iterate it in the "
            "handler. Said once per processor."
        },
    )


def _abandoned(tasks: set[Any]) -> None:
    """Say, once for all of them, that ``tasks`` were left behind with their closed event loop."""
    from shardsafe.core.telemetry import logs

    for task in tasks:
        task._log_destroy_pending = False  # asyncio's own flag: this line says it instead, once
    logs.emit(
        logs.WARNING,
        logs.WARNED,
        {
            "message": f"{len(tasks)} task(s) a handler started ignored their cancellation "
            f"({', '.join(sorted(_task_name(task) for task in tasks))}): they were left with their event "
            "loop, which was closed; the next record runs on a new one"
        },
    )


class _Exited:
    """What a task gives when its coroutine called ``sys.exit()``: asyncio would let the ``SystemExit`` out of
    the event loop, leaving the loop's other tasks pending."""

    __slots__ = ("error",)

    def __init__(self, error: SystemExit) -> None:
        self.error = error


async def _contained(coroutine: Any) -> Any:
    try:
        return await coroutine
    except SystemExit as error:  # a handler's sys.exit() fails its record, not the loop
        return _Exited(error)


def _recording_factory(started: list[Any]) -> Callable[..., Any]:
    """A task factory that records every task it makes in ``started``, each with ``sys.exit()`` contained."""
    import asyncio

    def factory(loop: Any, coroutine: Any, **options: Any) -> Any:
        contained: Any = _contained(coroutine)
        contained.__qualname__ = getattr(coroutine, "__qualname__", contained.__qualname__)  # its task's name
        task = asyncio.Task(contained, loop=loop, **options)
        started.append(task)
        return task

    return factory


async def _wait_until(asyncio: Any, tasks: set[Any], stop_at: float | None) -> bool:
    """Wait for ``tasks`` to be done; False when ``stop_at`` (``time.monotonic()``) came first."""
    timeout = None if stop_at is None else max(0.0, stop_at - time.monotonic())
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    return not pending


def _task_name(task: Any) -> str:
    coroutine = task.get_coro()
    return str(getattr(coroutine, "__qualname__", None) or task.get_name())
