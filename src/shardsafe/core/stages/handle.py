"""The handle stage: calling the user's handler, plain or ``async def``, and telling a handler that did not run.

Handlers may be ``async def``: they run to completion on one event loop per processor, one record
at a time, so order within a shard or message group is kept. A plain function that returns an
awaitable it did not await (a coroutine), or a generator, has failed that record: nothing ran.
"""

from __future__ import annotations

from shardsafe.core.errors import RetryableError

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# inspect's CO_* flags, without importing inspect (tens of ms) for them
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200
#: Results that are never awaitable: the check after each handler call is one set lookup for them.
PLAIN_RESULTS = frozenset({type(None), bool, int, float, str, bytes, dict, list, tuple, set})


def not_awaited(result: object) -> None:
    """Fail a record whose plain handler returned an awaitable, or a generator: its body never ran."""
    kind = type(result)
    if (
        getattr(kind, "__await__", None) is None
        and getattr(kind, "__anext__", None) is None  # an async generator
        and getattr(kind, "gi_code", None) is None  # a generator
    ):
        return
    close = getattr(result, "close", None)
    if callable(close):
        close()  # a coroutine nobody will await: close it rather than leave a warning for later
    raise TypeError(
        f"the handler returned {kind.__name__} {result!r} without running it, so the record was not "
        "handled: declare the handler 'async def' without 'yield' (shardsafe awaits it), or await inside it"
    )


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
    import sys

    asyncio = sys.modules.get("asyncio")  # no running loop without asyncio loaded
    return None if asyncio is None else asyncio._get_running_loop()


class EventLoop:
    """One event loop per processor, kept across invocations (clients bound to it stay usable)."""

    __slots__ = ("__weakref__", "_loop")

    def __init__(self) -> None:
        self._loop: Any = None

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

    def run(self, coroutine: Any) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed():
            import asyncio  # only for async handlers: asyncio takes tens of ms to import
            import weakref

            loop = self._loop = asyncio.new_event_loop()
            # Closed with its processor: an unclosed loop leaks its self-pipe sockets (ResourceWarning).
            weakref.finalize(self, loop.close)
        try:
            return loop.run_until_complete(coroutine)
        except BaseException as error:
            if type(error).__name__ != "CancelledError":
                raise
            # a BaseException that would end the invocation: the record's task was cancelled, try it later
            raise RetryableError(f"the handler's task was cancelled: {error!r}") from error
