"""A one-line progress bar on stderr, redrawn at most ten times a second."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]

BAR_WIDTH = 30


class Progress:
    """Counts done out of ``total`` (None when unknown, e.g. stdin) and shows the rate."""

    def __init__(
        self,
        total: int | None,
        *,
        out: TextIO | None = None,
        unit: str = "records",
        clock: Callable[[], float] = time.monotonic,
        min_interval_s: float = 0.1,
    ) -> None:
        self.total = total
        self.done = 0
        self._out = out if out is not None else sys.stderr
        self._unit = unit
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._min_interval_s = min_interval_s

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= self._min_interval_s:
            self._draw(now)

    def clear(self) -> None:
        """Erase the bar, so that a line printed next starts clean; the next `advance` draws it again."""
        self._out.write("\r\x1b[K")
        self._out.flush()
        self._drawn_at = None

    def close(self) -> None:
        """Draw the final state and end the line."""
        self._draw(self._clock())
        self._out.write("\n")
        self._out.flush()

    def render(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = f"{self.done / elapsed:,.0f} {self._unit}/s"
        if not self.total:
            return f"{self.done:,} {self._unit}  {rate}"
        share = min(self.done / self.total, 1.0)
        filled = round(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"[{bar}] {self.done:,}/{self.total:,} {share:4.0%}  {rate}"

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        self._out.write("\r" + self.render(now) + "\x1b[K")
        self._out.flush()
