"""Policy: one place for what a failure means and how long a batch may run.

- **Classify**: an exception is *retryable* (try again later) or *poison* (quarantine the record).
  In order: a type in ``poison=`` is poison; :class:`~shardsafe.RetryableError` or a type in
  ``retryable=`` is retryable; a transient failure (:func:`shardsafe.core.transient.is_transient`:
  connection errors, timeouts, AWS throttling and 5xx) is retryable unless ``transient=False``;
  anything else is poison.
- **Retry in process** (:meth:`Policy.retry`), used when a record or a batch-handler group cannot be
  handed back to Lambda: ``retry_attempts`` more tries with exponential backoff, within the deadline.
- **The deadline** (:class:`Deadline`): no record, retry or batch-handler call starts when less
  than ``DEADLINE_MARGIN_MS`` (at most a fifth of the invocation) is left; the quarantine flush
  may use the time up to ``FLUSH_RESERVE_MS`` before the end.

What a source requires when a record is handed back lives with the source
(:meth:`shardsafe.core.sources.base.Source.hand_back`).
"""

from __future__ import annotations

import time

from shardsafe.core.errors import ConfigurationError, RetryableError

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: Stop starting new work when this little of the invocation's time is left (at most 20 % of it).
DEADLINE_MARGIN_MS = 2000
#: The quarantine flush stops this long before the invocation's end (at most 5 % of it), leaving
#: time for the fallback log lines and the summary.
FLUSH_RESERVE_MS = 300
#: The longest first wait of an in-process retry: an invocation lasts 15 minutes at most.
MAX_RETRY_DELAY = 900.0
#: What user code may raise that is *not* that record's failure: everything else (``sys.exit()``,
#: a cancelled task, a custom BaseException) fails one record instead of the invocation.
NEVER_CAUGHT: tuple[type[BaseException], ...] = (KeyboardInterrupt, GeneratorExit)


class Deadline:
    """When to stop starting work, and when the flush must stop, from the Lambda context."""

    __slots__ = ("flush_at", "stop_at")

    def __init__(self, context: object) -> None:
        remaining = remaining_ms(context)
        if remaining is None:
            self.stop_at: float | None = None
            self.flush_at: float | None = None
            return
        now = time.monotonic()
        self.stop_at = now + (remaining - min(DEADLINE_MARGIN_MS, remaining * 0.2)) / 1000.0
        self.flush_at = now + (remaining - min(FLUSH_RESERVE_MS, remaining * 0.05)) / 1000.0

    def passed(self) -> bool:
        """No new work may start."""
        return self.stop_at is not None and time.monotonic() > self.stop_at

    def leaves(self, seconds: float) -> bool:
        """Whether ``seconds`` of waiting still ends before the deadline."""
        return self.stop_at is None or time.monotonic() + seconds <= self.stop_at


class Policy:
    """How failures are classified and retried; built once per :class:`~shardsafe.StreamProcessor`."""

    __slots__ = (
        "fifo_scope",
        "poison",
        "report_batch_item_failures",
        "retry_attempts",
        "retry_delay",
        "retryable",
        "transient",
    )

    def __init__(
        self,
        *,
        retryable: tuple[type[BaseException], ...] = (),
        poison: tuple[type[BaseException], ...] = (),
        transient: bool = True,
        report_batch_item_failures: bool = True,
        retry_attempts: int = 2,
        retry_delay: float = 0.1,
        fifo_scope: str = "batch",
    ) -> None:
        if type(retry_attempts) is not int or retry_attempts < 0:
            raise ConfigurationError(
                f"retry_attempts must be a whole number, 0 or more; got {retry_attempts!r}"
            )
        if (
            not isinstance(retry_delay, int | float)
            or isinstance(retry_delay, bool)
            or not 0 <= retry_delay <= MAX_RETRY_DELAY
        ):
            raise ConfigurationError(
                f"retry_delay must be a number of seconds from 0 to {MAX_RETRY_DELAY:g} (the first in-process "
                f"retry waits that long, each next one twice as long); got {retry_delay!r}"
            )
        self.retryable: tuple[type[BaseException], ...] = (RetryableError, *retryable)
        self.poison: tuple[type[BaseException], ...] = poison
        self.transient = transient
        self.report_batch_item_failures = report_batch_item_failures
        self.retry_attempts = retry_attempts
        self.retry_delay = retry_delay
        self.fifo_scope = fifo_scope

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` means "try again later" rather than "this record is poison"."""
        if self.poison and isinstance(error, self.poison):
            return False
        if isinstance(error, self.retryable):
            return True
        if (
            type(error).__name__ == "CancelledError"
        ):  # asyncio's or concurrent.futures': a task stopped, not a bad record
            return True
        if not self.transient:
            return False
        from shardsafe.core.transient import is_transient  # only once something failed

        return is_transient(error)

    def retry(self, attempt: Callable[[], Any], error: BaseException, deadline: Deadline) -> tuple[bool, Any]:
        """Call ``attempt`` again after a retryable ``error``, up to ``retry_attempts`` times.

        Returns ``(True, value)`` once it succeeds, else ``(False, why)``: the poison exception it
        raised, the last retryable one (retries exhausted), or :data:`OUT_OF_TIME`.
        """
        for try_number in range(self.retry_attempts):
            delay = self.retry_delay * 2**try_number
            if not deadline.leaves(delay):
                return False, OUT_OF_TIME
            time.sleep(delay)
            try:
                return True, attempt()
            except BaseException as again:
                if isinstance(again, NEVER_CAUGHT):
                    raise
                error = again
            if type(unwrap(error)) is HandlerOutOfTime:
                return False, OUT_OF_TIME
            if not self.is_retryable(unwrap(error)):
                return False, error
        return False, error


class _OutOfTime:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OUT_OF_TIME"


#: What :meth:`Policy.retry` gives when the deadline leaves no time for the next try.
OUT_OF_TIME = _OutOfTime()


class HandlerOutOfTime(Exception):
    """An async handler (or the tasks it started) was still running at the deadline and was cancelled:
    its record is handed back (``out_of_time``), never quarantined for it."""


class HandlerFailed(Exception):
    """The user's handler raised ``error`` on ``record``: carries the record (and so the bytes it had
    before the handler could change ``raw``) out of the pipeline."""

    def __init__(self, error: BaseException, record: Any) -> None:
        super().__init__(error)
        self.error = error
        self.record = record


def unwrap(error: BaseException) -> BaseException:
    return error.error if type(error) is HandlerFailed else error


def remaining_ms(context: object) -> float | None:
    try:
        remaining = context.get_remaining_time_in_millis()  # type: ignore[attr-defined]
    except Exception:
        return None
    return (
        float(remaining) if isinstance(remaining, int | float) and not isinstance(remaining, bool) else None
    )
