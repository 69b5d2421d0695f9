"""The Lambda side's exceptions: one base for the package, the two a user raises to classify a failure, the
configuration error, and the handler's one (the operator tools add theirs in :mod:`shardsafe.ops.errors`)."""

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
