"""The package's exceptions: one base, the two a user raises to classify a failure, the handler's one, and
the operator tools' one for input a user can fix."""

from __future__ import annotations


class ShardsafeError(Exception):
    """Base class of every exception shardsafe defines."""


class RetryableError(ShardsafeError):
    """Raise (or subclass) this from a handler when the failure is transient, e.g. a throttled downstream.

    The record is retried instead of quarantined. Connection errors, timeouts and AWS throttling
    are retryable already (:mod:`shardsafe.transient`); ``StreamProcessor(retryable=...)`` marks
    more exception types you do not own, and ``poison=`` marks types that never are.
    """


class ValidationError(ShardsafeError, ValueError):
    """A record's data failed validation; the record is quarantined with reason ``validation_error``."""


class ConfigurationError(ShardsafeError, ValueError):
    """A StreamProcessor argument is wrong; raised when the processor is built, never per record."""


class BatchIncompleteError(ShardsafeError):
    """Raised by the Lambda handler when records had to be handed back but the mapping does not report
    batch-item failures: failing the invocation is the only way left to make Lambda retry them."""


class InputError(ShardsafeError, ValueError):
    """Bad input to the operator tools (produce, redrive, the failure-message model) or an environment they
    cannot use; the message names the value and what to do. The ``shardsafe`` command prints it and exits 2."""
