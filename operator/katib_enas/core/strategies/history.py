"""What a strategy reads from the history Katib sends with every call: the trials by condition,
the best metric, and the finished trials not learned yet, at a cost that does not grow with the
history.

Katib sends every trial on every call, and the history mostly grows at its end. When this call's
records begin with the very records of the last call (the service hands the same objects again
for trials it has already read: `service.convert.KnownTrials`), the list comparison runs in C,
identity first, and only the records after them are judged; otherwise every record is read
again, reusing the judgement of any record seen before.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from katib_enas.core.katib import Condition, Objective
from katib_enas.core.trials import Judgement, Outcome, TrialRecord, judge

_LEARNABLE = frozenset({Outcome.SUCCEEDED, Outcome.FAILED})


@dataclass
class Scan:
    """One call's reading of the history; `History.keep` makes it the base of the next."""

    records: list[TrialRecord]
    counts: dict[Condition, int]
    best_metric: float | None
    judged: dict[str, tuple[TrialRecord, Judgement]]
    new: list[tuple[TrialRecord, Judgement]] = field(default_factory=list)  # not learned yet


class History:
    """The last kept `Scan` of one strategy (in memory only: a restart reads the history)."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self._last = Scan([], {}, None, {})

    def scan(self, trials: Sequence[TrialRecord], learned: Set[str]) -> Scan:
        """Counts, best metric and the finished trials of `trials` whose names are not in
        `learned`, reading only what the last kept scan has not read."""
        records = list(trials)
        last = self._last
        seen = len(last.records)
        if len(records) >= seen and records[:seen] == last.records:
            # Every finished trial of the last scan was learned before it was kept.
            scan = Scan(records, dict(last.counts), last.best_metric, last.judged)
            tail = records[seen:]
        else:
            scan = Scan(records, {}, None, {})
            tail = records
        maximize = self.objective.maximize
        for trial in tail:
            known = last.judged.get(trial.name)
            judgement = (
                known[1]
                if known is not None and known[0] is trial
                else judge(trial, self.objective)
            )
            scan.judged[trial.name] = (trial, judgement)
            scan.counts[trial.condition] = scan.counts.get(trial.condition, 0) + 1
            metric = judgement.metric
            if metric is not None and (
                scan.best_metric is None
                or (metric > scan.best_metric if maximize else metric < scan.best_metric)
            ):
                scan.best_metric = metric
            if judgement.outcome in _LEARNABLE and trial.name not in learned:
                scan.new.append((trial, judgement))
        return scan

    def keep(self, scan: Scan) -> None:
        """After the scan's new trials were learned: the next scan starts from it. (Its
        judgements are those of its own records: bounded by the history's length.)"""
        self._last = scan
