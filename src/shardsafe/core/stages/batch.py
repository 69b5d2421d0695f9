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
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.outcomes import HandBack
from shardsafe.core.pipeline import not_awaited
from shardsafe.core.policy import NEVER_CAUGHT, OUT_OF_TIME
from shardsafe.core.stages.decode import qualified_name, safe_str

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from shardsafe.core.records import Record
    from shardsafe.core.run import Invocation

Group = list[tuple[int, "Record"]]


def run_batch_handler(run: Invocation, batch_handler: Callable[[list[Record]], Any]) -> None:
    """Call ``batch_handler`` on the records collected by the run loop, and settle each of them."""
    policy, cells = run.policy, run.cells

    def call(records: list[Record]) -> None:
        # a copy each time: a handler that changes its list must not change what a retry or a half gets
        not_awaited(batch_handler(list(records)))

    def settle_group(group: Group) -> None:
        # Bisection is at most log2(batch) deep: recursion is the clearest way to keep halves in order.
        group = [(index, record) for index, record in group if cells[index] is None]
        if not group:
            return
        if run.deadline.passed():
            run.out_of_time()
            return
        records = [record for _, record in group]
        try:
            call(records)
        except BaseException as error:
            if isinstance(error, NEVER_CAUGHT):
                raise
            failure: BaseException = error
        else:
            for index, record in group:
                run.processed(index, record)
            return
        if policy.is_retryable(failure):
            why = HandBack(HandBack.RETRYABLE, qualified_name(type(failure)), safe_str(failure))
            if policy.report_batch_item_failures:
                assert run.source is not None
                run.observer.retryable(failure, run.source, [record.raw for record in records])
                run.hand_back([index for index, _ in group], why)
                return
            ok, outcome = policy.retry(lambda: call(records), failure, run.deadline)
            if ok:
                for index, record in group:
                    run.processed(index, record)
                return
            if outcome is OUT_OF_TIME:
                run.hand_back(
                    [index for index, _ in group],
                    HandBack(HandBack.OUT_OF_TIME, why.error_type, why.error_message),
                )
                return
            failure = outcome
            if policy.is_retryable(failure):
                for index, record in group:
                    run.quarantine(
                        index,
                        reasons.RETRIES_EXHAUSTED,
                        qualified_name(type(failure)),
                        safe_str(failure),
                        record.payload,
                    )
                return
        if len(group) == 1:
            index, record = group[0]
            run.quarantine(
                index, reasons.HANDLER_ERROR, qualified_name(type(failure)), safe_str(failure), record.payload
            )
            return
        middle = len(group) // 2
        settle_group(group[:middle])
        settle_group(group[middle:])

    collected = run.collected or []
    run.collected = None
    settle_group(collected)
