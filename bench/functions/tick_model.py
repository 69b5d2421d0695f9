"""The pydantic model of the bench's records (bench/events.py): a stock tick and its order lines.

One model for every contender of the model part, shardsafe's and Powertools' alike, so that they
validate the same fields the same way. Deployed beside the handlers that use it for the cold start.
"""

from __future__ import annotations

from pydantic import BaseModel


class Line(BaseModel):
    SKU: str
    QTY: int
    PRICE: float


class Tick(BaseModel):
    EVENT_TIME: str
    TICKER: str
    PRICE: float
    LINES: list[Line]


def business(tick: Tick) -> float:
    """The business every contender runs on each validated tick: trivial on purpose."""
    return tick.PRICE * 2
