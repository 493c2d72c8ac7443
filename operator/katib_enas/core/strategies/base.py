"""The search-strategy contract, and the bookkeeping every strategy shares.

A strategy suggests architectures of a `Space` and learns from finished trials. How the service
drives one, per experiment (`katib_enas.service.sessions`):

1. It is built once per experiment session with the parsed space, the objective and the
   settings (`katib_enas.core.strategies.build`), then restored with `load_state_dict` when a
   checkpoint of the same setup exists.
2. Every `GetSuggestions` call first runs `observe(trials)` with the whole history Katib sent,
   then `suggest(count, key)`. Calls for one experiment never overlap (the session holds a lock).
3. After an `observe` that learned something, `state_dict()` is saved (when there is a volume).

What an implementation may assume and must guarantee:

- `observe` learns each finished trial exactly once, in the order the strategy first sees it
  finish; trials that arrive together are taken in canonical order (completion time, then
  name). A late trial, a same-second completion time or a reordered history costs only the new
  trials: nothing is relearned. The learned order is part of the state.
- A fresh strategy given a history (a restart without a checkpoint) learns it all in canonical
  order (`LearnReport.replayed`). "Reproducible" means: the state is a function of the seed and
  the learned order, so a checkpoint restores it exactly, and a replay of up to
  `EXACT_REPLAY_TRIALS` finished trials reproduces the lost state exactly when the trials had
  arrived in canonical order (the usual case; otherwise it is the state a service that saw them
  in that order would have). A longer replay may learn in larger steps (`_start_learning`), so
  that a cold start stays far inside Katib's 60 s deadline; each strategy documents how.
- `_learn` sees each finished trial once, with its decoded architecture (trials whose
  assignments do not decode are skipped, logged once) and the reward rule's `Judgement`; it
  counts the policy updates it makes in `report.updates`.
- `suggest(count, key)` returns `count` architectures and draws only from a generator seeded by
  `mix_seed(seed, key)`: the same state and key give the same answer (Katib may repeat a call).
- `state_dict`/`load_state_dict` round-trip exactly what `suggest` and `_learn` depend on.
"""

from __future__ import annotations

import abc
import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Condition, Objective
from katib_enas.core.settings_schema import EnasSettings, Setting
from katib_enas.core.spaces import Space
from katib_enas.core.strategies.history import History
from katib_enas.core.trials import Judgement, TrialRecord
from katib_enas.core.updates import ControllerUpdate

log = logging.getLogger(__name__)

A = TypeVar("A")
# A replay of at most this many finished trials is learned exactly as live learning did.
EXACT_REPLAY_TRIALS = 200


@dataclass
class LearnReport:
    """What one `observe` call did, for logs and metrics."""

    learned: int = 0  # trials consumed by this call (succeeded, failed, or unusable)
    updates: int = 0  # policy updates made by this call
    replayed: bool = False
    seconds: float = 0.0
    counts: dict[Condition, int] = field(default_factory=dict)  # the whole history
    best_metric: float | None = None
    last_reward: float | None = None
    loss: float | None = None
    entropy: float | None = None
    baseline: float | None = None
    history: list[ControllerUpdate] = field(default_factory=list)  # every update of this call


class SearchStrategy(abc.ABC, Generic[A]):
    """Suggest, observe, save and restore; see the module docstring for the contract."""

    name: str  # the `strategy` setting that selects it
    # The settings only this strategy reads: accepted only when the Experiment's `strategy` is
    # this one (`core.settings`), except Katib's stock `enas` settings, accepted for every one.
    owned_settings: tuple[Setting, ...] = ()

    def __init__(self, space: Space[A], objective: Objective, settings: EnasSettings) -> None:
        self.space = space
        self.objective = objective
        self.settings = settings
        self._learned: list[str] = []
        self._learned_set: set[str] = set()
        self._observed = False
        self._history = History(objective)  # what the last call read of Katib's history

    @property
    def learned_trials(self) -> tuple[str, ...]:
        return tuple(self._learned)

    @abc.abstractmethod
    def suggest(self, count: int, key: int) -> list[A]:
        """`count` architectures; the same `key` and state give the same answer."""

    @abc.abstractmethod
    def _learn(self, architecture: A, judgement: Judgement, report: LearnReport) -> None:
        """Learn from one finished trial (now, or with the next batch)."""

    def _start_learning(self, trials: int, replay: bool) -> None:
        """Called before `_learn` sees `trials` finished trials (`replay`: the whole history of a
        fresh strategy); a strategy that learns a long replay in larger steps sets them here."""

    def _finish_learning(self, report: LearnReport) -> None:
        """Called after the last `_learn` of an `observe` call."""

    @abc.abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this strategy is."""

    @abc.abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def assignments(self, architecture: A) -> dict[str, str]:
        """The Katib assignments for one suggested architecture."""
        return self.space.encode(architecture)

    def observe(self, trials: Sequence[TrialRecord]) -> LearnReport:
        """Learn from the finished trials of `trials` not learned yet (idempotent)."""
        started = time.perf_counter()
        report = LearnReport()
        scan = self._history.scan(trials, self._learned_set)
        report.counts, report.best_metric = dict(scan.counts), scan.best_metric
        finished = sorted(
            scan.new,
            key=lambda pair: (pair[0].completion_time == "", pair[0].completion_time, pair[0].name),
        )
        report.replayed = not self._observed and not self._learned and bool(finished)
        self._observed = True
        if report.replayed:
            log.info("no state for this experiment: learning its %d finished trials", len(finished))
        self._start_learning(len(finished), report.replayed)
        for trial, judgement in finished:
            self._remember(trial.name)
            report.learned += 1
            architecture = self._architecture_of(trial)
            if architecture is not None:
                self._learn(architecture, judgement, report)
        self._finish_learning(report)
        self._history.keep(scan)
        report.seconds = time.perf_counter() - started
        return report

    def _remember(self, name: str) -> None:
        self._learned.append(name)
        self._learned_set.add(name)

    def _learned_state(self) -> str:
        """For `state_dict`: the learned order as one JSON string, not a list: pickling a list
        costs a Python call per name, and a checkpoint is saved after every call that learned
        (issue 23: a call's cost must not grow with the history)."""
        return json.dumps(self._learned)

    def _restore_learned(self, names: str | Sequence[str]) -> None:
        """For `load_state_dict`: the learned order of a checkpoint (a list before issue 23)."""
        self._learned = list(json.loads(names) if isinstance(names, str) else names)
        self._learned_set = set(self._learned)

    def _architecture_of(self, trial: TrialRecord) -> A | None:
        """The architecture a trial ran, or None (logged) if its assignments are unusable."""
        try:
            return self.space.decode(trial.assignments)
        except KatibEnasError as error:
            log.warning("trial %s: not learned from: %s", trial.name, error)
            return None


def mix_seed(seed: int, key: int) -> int:
    """A generator seed for one suggestion call, stable across processes."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF
