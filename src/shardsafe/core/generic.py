"""Generic classes without importing :mod:`typing` at run time (it costs the cold start).

A type checker sees :class:`typing.Generic`, so ``KinesisRecord[Tick]`` and ``StreamProcessor[SqsRecord]``
are checked as generics; at run time ``Generic[X]`` is a plain base and ``Record[X]`` an alias of
``Record`` that ``isinstance`` and annotations accept, as ``list[int]`` is for ``list``.
"""

from __future__ import annotations

__all__ = ["Generic"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Generic
else:
    _Alias = type(list[int])  # types.GenericAlias, without importing types

    class Generic:
        """What ``typing.Generic`` does when subscripted, and nothing else: ``Record[Tick]`` is ``Record``'s alias."""

        __slots__ = ()

        def __class_getitem__(cls, item):
            return cls if cls is Generic else _Alias(cls, item)
