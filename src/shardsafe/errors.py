"""The package's exceptions: one base, and the two a user raises to classify a failure."""

from __future__ import annotations


class ShardsafeError(Exception):
    """Base class of every exception shardsafe defines."""


class RetryableError(ShardsafeError):
    """Raise (or subclass) this from a handler when the failure is transient, e.g. a throttled downstream.

    The record is retried instead of quarantined; see ``StreamProcessor(retryable=...)`` to mark
    exception types you do not own (``botocore`` throttling errors, ``TimeoutError``).
    """


class ValidationError(ShardsafeError, ValueError):
    """A record's data failed validation; the record is quarantined with reason ``validation_error``."""


class ConfigurationError(ShardsafeError, ValueError):
    """A StreamProcessor argument is wrong; raised when the processor is built, never per record."""
