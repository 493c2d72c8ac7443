"""The search-strategy contract, and the bookkeeping every strategy shares.

A strategy suggests assignments and learns from finished trials. Katib sends the whole trial
history on every call, so `observe` takes that history and learns only what is new. The learning
order is canonical (completion time, then name): when a call's history does not extend what was
learned as a prefix (a restart, a late status update), the strategy resets and replays it all, so
its state is always a function of the seed and the history alone.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from katib_enas.core.architecture import (
    ARCHITECTURE,
    NN_CONFIG,
    Architecture,
    decode_architecture,
    encode_nn_config,
)
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.search_space import SearchSpace
from katib_enas.core.trials import (
    Condition,
    Judgement,
    Objective,
    ObjectiveType,
    Outcome,
    TrialRecord,
    judge,
)

log = logging.getLogger(__name__)

Assignments = Mapping[str, str]


@dataclass
class LearnReport:
    """What one `observe` call did, for logs and metrics."""

    learned: int = 0  # trials consumed by this call (succeeded, failed, or unusable)
    updates: int = 0  # trials that changed the policy
    replayed: bool = False
    seconds: float = 0.0
    counts: dict[Condition, int] = field(default_factory=dict)  # the whole history
    best_metric: float | None = None
    last_reward: float | None = None
    loss: float | None = None
    entropy: float | None = None
    baseline: float | None = None


class SearchStrategy(abc.ABC):
    """Suggest, observe, save and restore; see the module docstring for the learning order."""

    def __init__(self, space: SearchSpace, objective: Objective) -> None:
        self.space = space
        self.objective = objective
        self._learned: list[str] = []
        self._decoded: dict[tuple[str, str], Architecture | None] = {}

    @property
    def learned_trials(self) -> tuple[str, ...]:
        return tuple(self._learned)

    @abc.abstractmethod
    def suggest(self, count: int, key: int) -> list[Architecture]:
        """`count` architectures; the same `key` and state give the same answer."""

    @abc.abstractmethod
    def _reset(self) -> None:
        """Forget everything learned (back to the state a fresh strategy has)."""

    @abc.abstractmethod
    def _learn(self, architecture: Architecture, judgement: Judgement, report: LearnReport) -> bool:
        """Learn from one finished trial; return whether the policy changed."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this strategy is."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def assignments(self, architecture: Architecture) -> dict[str, str]:
        """The Katib assignments (stock `enas` format) for one suggested architecture."""
        return {
            ARCHITECTURE: architecture.encode(),
            NN_CONFIG: encode_nn_config(self.space, architecture),
        }

    def observe(self, trials: Sequence[TrialRecord]) -> LearnReport:
        """Learn from the finished trials of `trials` not learned yet (idempotent)."""
        started = time.perf_counter()
        report = LearnReport()
        judged = [(trial, judge(trial, self.objective)) for trial in trials]
        for trial, _ in judged:
            report.counts[trial.condition] = report.counts.get(trial.condition, 0) + 1
        succeeded = [j.metric for _, j in judged if j.metric is not None]
        if succeeded:
            best = max if self.objective.type is ObjectiveType.MAXIMIZE else min
            report.best_metric = best(succeeded)
        finished = sorted(
            ((t, j) for t, j in judged if j.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)),
            key=lambda pair: (pair[0].completion_time == "", pair[0].completion_time, pair[0].name),
        )
        order = [trial.name for trial, _ in finished]
        if order[: len(self._learned)] != self._learned:
            log.info("history does not extend what was learned: replaying %d trials", len(order))
            self._reset()
            self._learned = []
            report.replayed = True
        for trial, judgement in finished[len(self._learned) :]:
            self._learned.append(trial.name)
            report.learned += 1
            architecture = self._architecture_of(trial)
            if architecture is not None and self._learn(architecture, judgement, report):
                report.updates += 1
        report.seconds = time.perf_counter() - started
        return report

    def _architecture_of(self, trial: TrialRecord) -> Architecture | None:
        """The architecture a trial ran, or None (logged once) if its assignment is unusable."""
        text = trial.assignments.get(ARCHITECTURE, "")
        key = (trial.name, text)
        if key not in self._decoded:
            try:
                architecture = decode_architecture(text)
                architecture.check(self.space)
            except KatibEnasError as error:
                log.warning("trial %s: not learned from: %s", trial.name, error)
                architecture = None
            self._decoded[key] = architecture
        return self._decoded[key]
