"""The batch handler: called once with every record that passed the pipeline, bisected on poison.

- It returns: every record in the call is processed.
- It raises what the policy calls retryable: the records are handed back to Lambda (with what
  their source requires to keep order), or, when the mapping does not report batch-item failures,
  the call is retried in process and, if that does not clear it, the records are quarantined
  (``retries_exhausted``).
- It raises poison: the records are split in two and each half is called again, in order, down to
  the single records it fails on, which are quarantined (``handler_error``).
- The deadline comes first: every record not yet settled is handed back (``out_of_time``), so no
  good record is quarantined for lack of time to bisect.

:func:`bisect` decides; it settles nothing. It yields a verdict for each group as it goes, and the
run loop (:mod:`shardsafe.core.run`), which owns the outcomes, settles them before the next call.
"""

from __future__ import annotations

from shardsafe.core.policy import NEVER_CAUGHT, OUT_OF_TIME
from shardsafe.core.stages.handle import not_awaited

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from shardsafe.core.policy import Deadline, Policy
    from shardsafe.core.records import Record

Group = list[tuple[int, "Record"]]

#: The group's records are processed.
PROCESSED = "processed"
#: The handler raised a retryable error on the group: hand it back (``detail``: the error).
RETRYABLE = "retryable"
#: No time left: hand back every record not settled yet (``detail``: the retryable error that led
#: here, or None when the deadline came before a call).
OUT_OF_TIME_VERDICT = "out_of_time"
#: In-process retries did not clear a retryable error: quarantine the group (``detail``: the error).
RETRIES_EXHAUSTED = "retries_exhausted"
#: The handler raised poison on this one record: quarantine it (``detail``: the error).
POISON = "poison"

Verdict = tuple[str, Group, "BaseException | None"]


def bisect(
    group: Group,
    batch_handler: Callable[[list[Record]], Any],
    policy: Policy,
    deadline: Deadline,
    pending: Callable[[int], bool],
) -> Iterator[Verdict]:
    """Call ``batch_handler`` on ``group`` (and, on poison, on its halves); yield what each call says.

    ``pending(index)``: whether a record is still unsettled, asked before each call, since settling a
    verdict (a stream's hand-back) can settle later records too.
    """

    def call(records: list[Record]) -> None:
        # a copy each time: a handler that changes its list must not change what a retry or a half gets
        not_awaited(batch_handler(list(records)))

    group = [(index, record) for index, record in group if pending(index)]
    if not group:
        return
    if deadline.passed():
        yield OUT_OF_TIME_VERDICT, group, None
        return
    records = [record for _, record in group]
    try:
        call(records)
    except BaseException as error:
        if isinstance(error, NEVER_CAUGHT):
            raise
        failure: BaseException = error
    else:
        yield PROCESSED, group, None
        return
    if policy.is_retryable(failure):
        if policy.report_batch_item_failures:
            yield RETRYABLE, group, failure
            return
        ok, outcome = policy.retry(lambda: call(records), failure, deadline)
        if ok:
            yield PROCESSED, group, None
            return
        if outcome is OUT_OF_TIME:
            yield OUT_OF_TIME_VERDICT, group, failure
            return
        failure = outcome
        if policy.is_retryable(failure):
            yield RETRIES_EXHAUSTED, group, failure
            return
    if len(group) == 1:
        yield POISON, group, failure
        return
    # Bisection is at most log2(batch) deep: recursion is the clearest way to keep halves in order.
    middle = len(group) // 2
    yield from bisect(group[:middle], batch_handler, policy, deadline, pending)
    yield from bisect(group[middle:], batch_handler, policy, deadline, pending)
