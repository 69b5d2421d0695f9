"""Where each record of a headline run ended, and the run's figures: the headline's accounting.

Pure functions over what a run observed: the function's ``BENCH-DONE`` lines (:class:`Invocation`)
and the quarantine queue and failure bucket (``shardsafe_harness.accounting.Observed``). Each record
is placed once, by its sequence number (:func:`place_records`); the figures are read off the places
(:func:`summarise_run`), and a contender's runs are summed up as medians (:func:`summarise`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shardsafe_harness.accounting import Observed

from bench.e2e_localstack import Put

PROCESSED, QUARANTINED, ON_FAILURE, MISSING = "processed", "quarantined", "on-failure", "missing"


@dataclass(frozen=True)
class Invocation:
    """One invocation, from its ``BENCH-DONE`` line."""

    started: float
    finished: float
    sequence_numbers: tuple[str, ...]
    failed: frozenset[str]
    raised: str | None

    @classmethod
    def from_line(cls, line: Mapping[str, Any]) -> Invocation:
        return cls(
            started=float(line["started"]),
            finished=float(line["finished"]),
            sequence_numbers=tuple(line["sequenceNumbers"]),
            failed=frozenset(line.get("failed") or ()),
            raised=line.get("raised"),
        )

    def handled(self, sequence_number: str) -> bool:
        """Whether the handler ran this record without failing it (it may still be retried)."""
        return (
            self.raised is None
            and sequence_number in self.sequence_numbers
            and (sequence_number not in self.failed)
        )


@dataclass(frozen=True)
class Outcome:
    """Where one record ended, and when the last invocation that held it finished (None: never held)."""

    place: str
    done: float | None
    invocations: int


def place_records(
    put_at: Mapping[str, Put], invocations: Sequence[Invocation], observed: Observed
) -> dict[str, Outcome]:
    """Each record's outcome, by sequence number: in the on-failure destination, quarantined,
    processed (the handler ran it without failing it) or missing, in that order of precedence."""
    held: dict[str, list[Invocation]] = {}
    for invocation in invocations:
        for sequence_number in invocation.sequence_numbers:
            held.setdefault(sequence_number, []).append(invocation)
    outcomes = {}
    for sequence_number, put in put_at.items():
        coordinates = (put.shard, int(sequence_number))
        mine = held.get(sequence_number, [])
        if any(batch.covers(coordinates) for batch in observed.failure_batches):
            place = ON_FAILURE
        elif coordinates in observed.quarantined:
            place = QUARANTINED
        elif any(invocation.handled(sequence_number) for invocation in mine):
            place = PROCESSED
        else:
            place = MISSING
        done = max((invocation.finished for invocation in mine), default=None)
        outcomes[sequence_number] = Outcome(place, done, len(mine))
    return outcomes


def settled(outcomes: Mapping[str, Outcome], poison: str) -> bool:
    """Every record placed, and the poison set aside (not merely handled: it may be retried yet)."""
    return all(o.place != MISSING for o in outcomes.values()) and outcomes[poison].place in (
        QUARANTINED,
        ON_FAILURE,
    )


def invocations_logged(outcome: Outcome, coordinates: tuple[str, int], observed: Observed) -> bool:
    """Whether the log lines read so far show every invocation Lambda counted for the on-failure batch
    holding the record (its ``approximateInvokeCount``). Lambda writes that batch as the last invocation
    fails, and that invocation's own log line can reach CloudWatch Logs after it: counted then, the
    record's invocations would come out one short."""
    counted = [
        batch.attempts for batch in observed.failure_batches if batch.covers(coordinates) and batch.attempts
    ]
    return outcome.invocations >= max(counted, default=0)


def poison_bytes_kept(place: str, coordinates: tuple[str, int], data: bytes, observed: Observed) -> bool:
    """Whether the poison's own bytes are where it ended: in its envelope, or in Lambda's S3 object."""
    if place == QUARANTINED:
        return any(envelope.payload_bytes() == data for envelope in observed.quarantined[coordinates])
    if place == ON_FAILURE:
        return any(
            record.data == data
            for batch in observed.failure_batches
            for record in batch.records or ()
            if int(record.sequence_number) == coordinates[1]
        )
    return False


def summarise_run(
    put_at: Mapping[str, Put],
    outcomes: Mapping[str, Outcome],
    invocations: Sequence[Invocation],
    poison: str,
    after: str,
) -> dict[str, Any]:
    """The figures of one run from its records' outcomes (``poison`` and ``after``: sequence numbers)."""
    good = [sequence for sequence in put_at if sequence != poison]
    latency = {
        sequence: (outcomes[sequence].done - put_at[sequence].at) * 1000  # type: ignore[operator]
        for sequence in good
        if outcomes[sequence].done is not None
    }
    # The normal latency is that of records done before the poison was put: nothing it did touched them.
    before = [
        latency[s]
        for s in latency
        if outcomes[s].done < put_at[poison].at  # type: ignore[operator]
    ]
    normal = statistics.median(before) if before else None
    after_ms = latency.get(after)
    held = [s for invocation in invocations for s in invocation.sequence_numbers if s in put_at]
    places = Counter(outcomes[sequence].place for sequence in good)
    return {
        "normal_ms": normal,
        "after_poison_ms": after_ms,
        "stall_ms": None if after_ms is None or normal is None else after_ms - normal,
        "worst_ms": max(latency.values(), default=None),
        "poison_invocations": outcomes[poison].invocations,
        # Where a stall goes when it is not in retries: the handler's own time on the poison's batches.
        "poison_invocations_ms": sum(
            (i.finished - i.started) * 1000 for i in invocations if poison in i.sequence_numbers
        ),
        "invocations": sum(any(s in put_at for s in i.sequence_numbers) for i in invocations),
        "extra_deliveries": len(held) - len(set(held)),
        "good": len(good),
        "good_processed": places[PROCESSED],
        "good_on_failure": places[ON_FAILURE],
        "good_quarantined": places[QUARANTINED],
        "good_missing": places[MISSING],
        "good_on_failure_keys": sorted(
            (put_at[s].key for s in good if outcomes[s].place == ON_FAILURE), key=_index
        ),
        "poison_place": outcomes[poison].place,
    }


def _index(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


SUMMED = (
    "normal_ms",
    "after_poison_ms",
    "stall_ms",
    "worst_ms",
    "poison_invocations",
    "poison_invocations_ms",
    "invocations",
    "extra_deliveries",
    "good_on_failure",
    "good_quarantined",
    "good_missing",
)


def summarise(runs: Sequence[dict[str, Any]], contender: str) -> dict[str, Any]:
    """A contender's medians over its runs; the poison's places and whether its bytes were always kept."""
    mine = [run for run in runs if run["contender"] == contender]
    row: dict[str, Any] = {"contender": contender, "runs": len(mine), "good": mine[0]["good"]}
    for key in SUMMED:
        values = [run[key] for run in mine if run[key] is not None]
        row[key] = statistics.median(values) if values else None
    row["poison_places"] = sorted({run["poison_place"] for run in mine})
    row["poison_bytes_kept"] = all(run["poison_bytes_kept"] for run in mine)
    row["settled"] = all(run["settled"] for run in mine)
    return row
