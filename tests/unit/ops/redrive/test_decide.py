"""redrive's policy as a table: what was recovered and written of a message -> what happens to it, and why.

No queue, no stream: `decide` is a pure function, and `RedriveFilter` a pure predicate.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shardsafe.ops.failures import classify
from shardsafe.ops.redrive.decide import Action, Decision, RedriveFilter, decide
from tests.unit.ops.fakes import make_on_failure_body, make_quarantine_body

DELETE, KEEP, WRITE = Action.DELETE, Action.KEEP, Action.WRITE


@pytest.mark.parametrize(
    ("recovered", "unrecoverable", "written", "accept_partial", "action", "why"),
    [
        pytest.param(5, [], None, False, WRITE, "", id="all recovered: write them first"),
        pytest.param(5, [], 5, False, DELETE, "", id="all recovered and written: delete"),
        pytest.param(0, [], None, False, WRITE, "", id="nothing to recover (an empty batch): write nothing"),
        pytest.param(0, [], 0, False, DELETE, "", id="an empty batch written: delete"),
        pytest.param(
            5,
            [],
            3,
            False,
            KEEP,
            "2 of 5 records could not be written; run again to retry",
            id="some not written",
        ),
        pytest.param(
            5, [], 0, True, KEEP, "5 of 5 records could not be written", id="none written, even with partial"
        ),
        pytest.param(5, [], 4, False, KEEP, "1 of 5 records could not be written", id="one not written"),
        pytest.param(
            3,
            ["trimmed"],
            None,
            False,
            KEEP,
            "nothing written as some records are unrecoverable (trimmed); --accept-partial redrives the rest",
            id="some trimmed: keep it whole",
        ),
        pytest.param(
            3,
            ["trimmed", "count_mismatch", "trimmed"],
            None,
            False,
            KEEP,
            "(count_mismatch, trimmed)",
            id="every reason named once, sorted",
        ),
        pytest.param(
            3, ["trimmed"], None, True, WRITE, "", id="some trimmed, partial accepted: write the rest"
        ),
        pytest.param(
            3,
            ["trimmed"],
            3,
            True,
            DELETE,
            "the unrecoverable records (trimmed) given up, as --accept-partial asks",
            id="the rest written: delete, saying what was given up",
        ),
        pytest.param(
            0, ["trimmed"], 0, True, DELETE, "(trimmed) given up", id="all trimmed, partial accepted: delete"
        ),
        pytest.param(
            3,
            ["trimmed"],
            1,
            True,
            KEEP,
            "2 of 3 records could not be written",
            id="the rest not all written",
        ),
        pytest.param(
            0,
            ["unreadable_message"],
            None,
            False,
            KEEP,
            "left in the queue for a person to look at",
            id="unreadable: keep",
        ),
        pytest.param(
            0,
            ["unreadable_message"],
            None,
            True,
            KEEP,
            "for a person",
            id="unreadable: keep even with partial",
        ),
        pytest.param(
            0,
            ["unsupported_source"],
            None,
            True,
            KEEP,
            "for a person",
            id="a source redrive cannot read: keep",
        ),
    ],
)
def test_decision(recovered, unrecoverable, written, accept_partial, action, why):
    decision = decide(
        recovered=recovered, unrecoverable=unrecoverable, written=written, accept_partial=accept_partial
    )

    assert decision.action is action
    assert why in decision.why
    if action is DELETE and not unrecoverable:
        assert decision == Decision(DELETE), "a clean delete needs no explanation"


def test_no_written_count_ever_deletes_a_message_that_lost_records_without_accept_partial():
    for written in (None, 0, 3):
        decision = decide(recovered=3, unrecoverable={"trimmed"}, written=written, accept_partial=False)
        assert decision.action is KEEP


BATCH = classify(
    make_on_failure_body(
        shard_id="shardId-000000000001",
        start="1",
        end="2",
        batch_size=2,
        condition="RecordAgeExceeded",
        timestamp="2026-01-01T10:00:00Z",
    )
)
QUARANTINED = classify(
    make_quarantine_body(payload=b"{", reason="invalid_json", quarantined_at="2026-01-01T08:00:00Z")
)
UNREADABLE = classify("garbage")
SENT = datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filters", "taken"),
    [
        pytest.param(
            RedriveFilter(), {"batch", "quarantined", "unreadable"}, id="no filter takes everything"
        ),
        pytest.param(RedriveFilter(kinds=frozenset({"quarantine"})), {"quarantined"}, id="by kind"),
        pytest.param(
            RedriveFilter(reasons=frozenset({"RecordAgeExceeded"})), {"batch"}, id="by Lambda's condition"
        ),
        pytest.param(
            RedriveFilter(reasons=frozenset({"invalid_json"})), {"quarantined"}, id="by shardsafe's reason"
        ),
        pytest.param(RedriveFilter(shards=frozenset({"shardId-000000000001"})), {"batch"}, id="by shard"),
        pytest.param(
            RedriveFilter(since=datetime(2026, 1, 1, 9, tzinfo=UTC)),
            {"batch", "unreadable"},
            id="since: when it failed, else when SQS got it",
        ),
        pytest.param(
            RedriveFilter(until=datetime(2026, 1, 1, 10, tzinfo=UTC)),
            {"quarantined"},
            id="until is exclusive",
        ),
    ],
)
def test_filter(filters, taken):
    messages = {"batch": BATCH, "quarantined": QUARANTINED, "unreadable": UNREADABLE}

    assert {name for name, message in messages.items() if filters.matches(message, SENT)} == taken


def test_a_time_filter_skips_a_message_with_no_time_at_all():
    assert not RedriveFilter(since=datetime(2026, 1, 1, tzinfo=UTC)).matches(UNREADABLE, None)
