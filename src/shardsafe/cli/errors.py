"""The one exception the command-line tools raise for problems a user can fix."""

from __future__ import annotations

from shardsafe.errors import ShardsafeError

__all__ = ["CliError"]


class CliError(ShardsafeError):
    """Bad input or an unusable environment; the message names the value and what to do."""
