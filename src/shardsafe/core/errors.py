"""The Lambda side's exceptions, and how an exception is described in a log line or an envelope.

For users: one base for the package, the two a user raises to classify a failure, the configuration
error and the handler's one (the operator tools add theirs in :mod:`shardsafe.ops.errors`). Inside:
:class:`Rejection`, the signal every stage raises for poison it finds.
"""

from __future__ import annotations


class ShardsafeError(Exception):
    """Base class of every exception shardsafe defines."""


class RetryableError(ShardsafeError):
    """Raise (or subclass) this from a handler when the failure is transient, e.g. a throttled downstream.

    The record is retried instead of quarantined. Connection errors, timeouts and AWS throttling
    are retryable already (:mod:`shardsafe.core.transient`); ``StreamProcessor(retryable=...)`` marks
    more exception types you do not own, and ``poison=`` marks types that never are.
    """


class ValidationError(ShardsafeError, ValueError):
    """A record's data failed validation; the record is quarantined with reason ``validation_error``."""


class ConfigurationError(ShardsafeError, ValueError):
    """A StreamProcessor argument is wrong; raised when the processor is built, never per record."""


class BatchIncompleteError(ShardsafeError):
    """Raised by the Lambda handler when records had to be handed back but the mapping does not report
    batch-item failures: failing the invocation is the only way left to make Lambda retry them."""


# --- inside the pipeline ---


class Rejection(Exception):
    """A record that cannot be decoded or validated: poison, quarantined with ``reason``.

    ``payload`` is set by whoever read the record's bytes (the pipeline), so that the bytes as
    read, compressed ones included, are quarantined without being read again.
    """

    def __init__(self, reason: str, error: BaseException | str) -> None:
        super().__init__(reason, error)
        self.reason = reason
        self.error = error
        self.payload: bytes | None = None

    @property
    def error_type(self) -> str:
        return "shardsafe.Rejection" if isinstance(self.error, str) else qualified_name(type(self.error))

    @property
    def error_message(self) -> str:
        return self.error if isinstance(self.error, str) else safe_str(self.error)


def qualified_name(kind: type) -> str:
    """``ValueError`` for built-ins, ``json.decoder.JSONDecodeError`` for everything else."""
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def safe_str(error: BaseException, limit: int = 1024) -> str:
    """``str(error)`` cut to ``limit`` characters; an exception whose ``__str__`` fails still says something."""
    try:
        text = str(error)
    except BaseException as broken:  # a __str__ that raises, even SystemExit, must not end the batch
        if isinstance(broken, KeyboardInterrupt):
            raise
        text = f"<unprintable {type(error).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
