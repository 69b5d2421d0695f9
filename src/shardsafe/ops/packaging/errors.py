"""The one exception of the packaging tools."""

from __future__ import annotations

from shardsafe.ops.errors import InputError

__all__ = ["PackagingError"]


class PackagingError(InputError):
    """The zip could not be built; the message names the value at fault and what to do.
    (An `InputError`, so the ``shardsafe`` command prints it and exits 2.)"""
