"""The operator tools' exception: input a user can fix."""

from __future__ import annotations

from shardsafe.core.errors import ShardsafeError


class InputError(ShardsafeError, ValueError):
    """Bad input to the operator tools (produce, redrive, the failure-message model) or an environment they
    cannot use; the message names the value and what to do. The ``shardsafe`` command prints it and exits 2."""
