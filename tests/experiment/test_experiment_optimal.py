"""The optimal-trial rule (`katib_enas.experiment.optimal`): Katib's currentOptimalTrial and our
tie-break (`tests/analysis/test_analysis_run_summary.py`: `status` and its JSON agree)."""

from __future__ import annotations

from dataclasses import dataclass

from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.experiment.optimal import counts, optimal, ranked

MAXIMIZE = Objective(ObjectiveType.MAXIMIZE, "Validation-Accuracy")
MINIMIZE = Objective(ObjectiveType.MINIMIZE, "Validation-Loss")


@dataclass(frozen=True)
class Trial:
    seq: int
    condition: Condition
    objective: float | None
    parameters: int | None = None


def size(trial: Trial) -> float | None:
    return trial.parameters


def test_only_succeeded_or_early_stopped_trials_with_a_value_count() -> None:
    trials = [
        Trial(1, Condition.FAILED, 0.99),
        Trial(2, Condition.SUCCEEDED, None),
        Trial(3, Condition.RUNNING, 0.98),
        Trial(4, Condition.EARLYSTOPPED, 0.5),
        Trial(5, Condition.SUCCEEDED, 0.4),
    ]
    assert [t.seq for t in trials if counts(t)] == [4, 5]
    assert [t.seq for t in ranked(trials, MAXIMIZE, size)] == [4, 5]
    assert [t.seq for t in ranked(trials, MINIMIZE, size)] == [5, 4]


def test_ties_go_to_fewer_parameters_then_the_earliest() -> None:
    trials = [
        Trial(1, Condition.SUCCEEDED, 0.9),
        Trial(2, Condition.SUCCEEDED, 0.9, parameters=2000),
        Trial(3, Condition.SUCCEEDED, 0.9, parameters=1000),
        Trial(4, Condition.SUCCEEDED, 0.9, parameters=1000),
        Trial(5, Condition.SUCCEEDED, 0.8, parameters=10),
    ]
    assert [t.seq for t in ranked(trials, MAXIMIZE, size)] == [3, 4, 2, 1, 5]
    assert optimal(reversed(trials), MAXIMIZE, size) == trials[2]


def test_no_trial_that_counts_is_no_optimal_trial() -> None:
    assert optimal([Trial(1, Condition.FAILED, 1.0)], MAXIMIZE, size) is None
