"""Katib's stop rules and request sizes for an experiment, as pure functions of its trials.

A run ends when the goal is reached, when `maxFailedTrialCount` failed or MetricsUnavailable
trials are reached, or when `maxTrialCount` trials completed, checked in that order as Katib's
experiment controller does. While it goes on, Katib asks for
`min(parallel, maxTrialCount - completed) - active` new suggestions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from katib_enas.core.katib import COMPLETED, FAILED_LIKE
from katib_enas.experiment import Experiment, optimal
from katib_enas.local.store import StoredTrial


@dataclass(frozen=True)
class Stop:
    status: str  # the run's final status: Succeeded or Failed
    reason: str

    @property
    def failed(self) -> bool:
        return self.status == "Failed"


def stop_reason(experiment: Experiment, trials: Sequence[StoredTrial]) -> Stop | None:
    objective = experiment.objective
    for trial in trials:
        # Katib checks every observation that counts, early-stopped too.
        if optimal.counts(trial) and objective.reached(trial.objective or 0.0):
            return Stop("Succeeded", f"goal reached by {trial.name}")
    failed = sum(1 for t in trials if t.condition in FAILED_LIKE)
    limit = experiment.max_failed_trial_count
    if limit is not None and failed != 0 and failed >= limit:
        return Stop("Failed", f"{failed} trial(s) failed (maxFailedTrialCount {limit})")
    completed = sum(1 for t in trials if t.condition in COMPLETED)
    if experiment.max_trial_count is not None and completed >= experiment.max_trial_count:
        return Stop("Succeeded", f"maxTrialCount {experiment.max_trial_count} reached")
    return None


def wanted(experiment: Experiment, trials: Sequence[StoredTrial], active: int) -> int:
    """How many new suggestions to ask for now (0 or less: none)."""
    required = experiment.parallel_trial_count
    if experiment.max_trial_count is not None:
        completed = sum(1 for t in trials if t.condition in COMPLETED)
        required = min(required, experiment.max_trial_count - completed)
    return required - active
