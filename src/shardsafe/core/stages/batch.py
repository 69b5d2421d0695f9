"""The batch handler: called once with every record that passed the pipeline, bisected on poison.

- It returns: every record in the call is processed. It reports a failure by raising, never by
  returning: a call that returns records it was given (or a ``{"batchItemFailures": [...]}``
  response, another library's contract) has failed with a ``TypeError`` saying so, which is poison,
  so bisection narrows it down to the records it keeps returning and quarantines them
  (:func:`returned_failures`); none is reported processed by mistake.
- It raises what the policy calls retryable: the records are handed back to Lambda (with what
  their source requires to keep order), or, when the mapping does not report batch-item failures,
  the call is retried in process and, if that does not clear it, the records are quarantined
  (``retries_exhausted``).
- It raises poison: the records are split in two and each half is called again, in order, down to
  the single records it fails on, which are quarantined (``handler_error``).
- The deadline comes first, or an ``async`` batch handler is still running at it: every record not
  yet settled is handed back (``out_of_time``), so no good record is quarantined for lack of time.

Each retry and each half gets records made afresh (``fresh``), as they were before the first call:
what one call did to ``record.data`` does not reach the next.

:func:`bisect` decides; it settles nothing. It yields a verdict for each group as it goes, and the
run loop (:mod:`shardsafe.core.run`), which owns the outcomes, settles them before the next call.
"""

from __future__ import annotations

from shardsafe.core.policy import NEVER_CAUGHT, OUT_OF_TIME, HandlerOutOfTime
from shardsafe.core.records import Snapshot

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

    from shardsafe.core.policy import Deadline, Policy
    from shardsafe.core.records import Record

Group = list[tuple[int, "Record"]]

#: The group's records are processed.
PROCESSED = "processed"
#: The handler raised a retryable error on the group: hand it back (``detail``: the error).
RETRYABLE = "retryable"
#: No time left: hand back every record not settled yet (``detail``: the retryable error that led
#: here, or None when the deadline came before or during a call).
OUT_OF_TIME_VERDICT = "out_of_time"
#: In-process retries did not clear a retryable error: quarantine the group (``detail``: the error).
RETRIES_EXHAUSTED = "retries_exhausted"
#: The handler raised poison on this one record: quarantine it (``detail``: the error).
POISON = "poison"

Verdict = tuple[str, Group, "BaseException | None"]


def bisect(
    group: Group,
    call: Callable[[list[Record]], None],
    policy: Policy,
    deadline: Deadline,
    pending: Callable[[int], bool],
    fresh: Callable[[Group], Group],
    *,
    first: bool = True,
) -> Iterator[Verdict]:
    """Call the batch handler (``call``) on ``group`` (and, on poison, on its halves); yield what each call says.

    ``pending(index)``: whether a record is still unsettled, asked before each call, since settling a
    verdict (a stream's hand-back) can settle later records too. ``fresh(group)``: the group's records
    made afresh, for every call but the first.
    """
    group = [(index, record) for index, record in group if pending(index)]
    if not group:
        return
    if deadline.passed():
        yield OUT_OF_TIME_VERDICT, group, None
        return
    if not first:
        group = fresh(group)
    try:
        call([record for _, record in group])
    except BaseException as error:
        if isinstance(error, NEVER_CAUGHT):
            raise
        failure: BaseException = error
    else:
        yield PROCESSED, group, None
        return
    if type(failure) is HandlerOutOfTime:
        yield OUT_OF_TIME_VERDICT, group, None
        return
    if policy.is_retryable(failure):
        if policy.report_batch_item_failures:
            yield RETRYABLE, group, failure
            return
        tried: list[Group] = []

        def again() -> None:
            tried.append(fresh(group))
            call([record for _, record in tried[-1]])

        ok, outcome = policy.retry(again, failure, deadline)
        if ok:
            yield PROCESSED, tried[-1], None
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
    yield from bisect(group[:middle], call, policy, deadline, pending, fresh, first=False)
    yield from bisect(group[middle:], call, policy, deadline, pending, fresh, first=False)


def returned_failures(result: object, records: Sequence[Record]) -> None:
    """Raise ``TypeError`` when a batch handler's return value reports failures, which it may not.

    Checked once per call. Any other value (None, a count, the ids it wrote) is fine and ignored.
    """
    if type(result) is dict and "batchItemFailures" in result:
        raise TypeError(
            "the batch handler returned a batchItemFailures response: shardsafe does not read failures from "
            "a batch handler's return value. Raise instead: RetryableError (or a transient error) to retry "
            "the call's records later, any other exception to have them bisected and the failing ones "
            "quarantined"
        )
    if isinstance(result, list | tuple | set | frozenset) and result:
        given = {id(record) for record in records}
        returned = sum(1 for item in result if id(item) in given)
        if returned:
            raise TypeError(
                f"the batch handler returned {returned} of the {len(records)} records it was given: shardsafe "
                "does not read failures from a batch handler's return value, so returned records count as "
                "failed. Raise instead: RetryableError (or a transient error) to retry the call's records "
                "later, any other exception to have them bisected and the failing ones quarantined; "
                "return None when every record was handled"
            )


class Rebuild:
    """The records of a batch handler's retry or bisection half, as they were before its first call.

    With a record handler, each record's ``data`` and ``result`` are snapshotted before the first call
    (what the record handler left is what the batch handler gets every time); without one, the record
    is built again from what Lambda delivered (decoded and validated again: ``prepare``), which costs
    nothing unless the batch handler fails. A record whose data could not be snapshotted (an object
    ``copy.deepcopy`` refuses) is built again from what Lambda delivered, with its ``result`` as it is.
    """

    __slots__ = ("_prepare", "_raws", "_snapshots")

    def __init__(
        self,
        group: Group,
        raws: Sequence[Any],
        prepare: Callable[[int], Callable[[Any], Record]],
        *,
        snapshot: bool,
    ) -> None:
        self._raws = raws
        self._prepare = prepare
        self._snapshots: dict[int, Snapshot] | None = (
            {index: Snapshot((record.data, record.result)) for index, record in group} if snapshot else None
        )

    def __call__(self, group: Group) -> Group:
        rebuilt: Group = []
        for index, record in group:
            snapshot = self._snapshots.get(index) if self._snapshots is not None else None
            again: Record | None = None
            if snapshot is not None:
                try:
                    data, result = snapshot.copy()
                except TypeError:
                    pass
                else:
                    import copy

                    again = copy.copy(record)  # the same record, without what the last call did to it
                    if hasattr(again, "_raw_copy"):
                        del again._raw_copy
                    again.data, again.result = data, result
            if again is None:
                try:
                    again = self._prepare(index)(self._raws[index])
                except Exception:  # a validator that passed it once and not again: the record as it is
                    again = record
                else:
                    again.result = record.result
            rebuilt.append((index, again))
        return rebuilt
