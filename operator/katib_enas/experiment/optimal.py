"""Which trial is best: Katib's `currentOptimalTrial` rule, with our tie-break, written once.

Katib counts the trials that finished with an observation, Succeeded or EarlyStopped, and takes
the best objective value. On ties we take the one with fewer parameters (Katib takes the
earliest; equal accuracy should not cost size), then the earliest. Every output of `analysis`
(on trial rows: the run's summary, `status`, trials.json, the report) and the runner's progress
line (on stored trials) rank by it; the runner's goal check counts the same trials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from katib_enas.core.katib import SUCCEEDED_LIKE, Condition, Objective


class Ranked(Protocol):
    """What ranking reads of a trial (a stored trial or an analysis row)."""

    @property
    def condition(self) -> Condition: ...
    @property
    def objective(self) -> float | None: ...
    @property
    def seq(self) -> int: ...  # creation order


T = TypeVar("T", bound=Ranked)
Size = Callable[[T], float | None]  # a trial's parameter count, None when unknown


def counts(trial: Ranked) -> bool:
    """Whether the trial's objective value counts: Succeeded or EarlyStopped, with a value."""
    return trial.condition in SUCCEEDED_LIKE and trial.objective is not None


def ranked(trials: Iterable[T], objective: Objective, size: Size[T]) -> list[T]:
    """The trials whose value counts, best first; ties: fewer parameters, then the earliest."""

    def key(trial: T) -> tuple[float, float, int]:
        value = trial.objective or 0.0
        parameters = size(trial)
        return (
            -value if objective.maximize else value,
            parameters if parameters is not None else float("inf"),
            trial.seq,
        )

    return sorted((t for t in trials if counts(t)), key=key)


def optimal(trials: Iterable[T], objective: Objective, size: Size[T]) -> T | None:
    """The best trial (Katib's currentOptimalTrial with our tie-break), or None."""
    best = ranked(trials, objective, size)
    return best[0] if best else None
