"""The progress bar: drawn on its own line, erased for a line printed above it, redrawn after."""

from __future__ import annotations

import io

from shardsafe.ops.cli.progress import Progress


def test_clear_erases_the_bar_and_the_next_advance_draws_it_again():
    out = io.StringIO()
    clock = iter([0.0, 0.01, 0.02, 0.03, 0.04]).__next__
    bar = Progress(4, out=out, unit="objects", clock=clock)

    bar.advance(1)
    bar.clear()
    bar.advance(1)  # within min_interval of the last draw, drawn all the same: the bar was erased

    drawn = out.getvalue().split("\r")
    assert drawn[1].startswith("[") and "1/4" in drawn[1]
    assert drawn[2] == "\x1b[K", "clear leaves an empty line for what is printed next"
    assert "2/4" in drawn[3]


def test_a_total_learnt_late_shows_the_bar():
    out = io.StringIO()
    bar = Progress(None, out=out, unit="messages", clock=lambda: 1.0)

    bar.advance(3)
    bar.total = 6

    assert bar.render(2.0).startswith("[") and "3/6  50%" in bar.render(2.0)
