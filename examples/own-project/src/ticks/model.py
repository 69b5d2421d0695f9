"""A tick as your code sees it: a frozen attrs class (attrs is this project's own dependency)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Tick:
    ticker: str
    price: float
    event_time: str

    @classmethod
    def from_record(cls, data: dict[str, object]) -> Tick:
        return cls(ticker=str(data["TICKER"]), price=float(data["PRICE"]), event_time=str(data["EVENT_TIME"]))  # type: ignore[arg-type]
