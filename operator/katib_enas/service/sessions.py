"""Per-experiment sessions: the parsed space, the strategy, its checkpoint and its lock.

One service serves any number of experiments (Katib runs one per experiment, the local runner
and tests share one). A session is keyed by what it depends on (the experiment's name, search
space, objective and parsed settings), not by the raw request: Katib echoes our `seed` back
into the settings, which must not start a second session.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from katib_enas.core import state, strategies
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.settings import EnasSettings, parse_settings
from katib_enas.core.strategies import SearchStrategy
from katib_enas.service.convert import ExperimentInput

log = logging.getLogger(__name__)


@dataclass
class Session:
    """One experiment's strategy, its checkpoint file and the lock that serialises its calls."""

    strategy: SearchStrategy[Any]
    settings: EnasSettings
    checkpoint: Path | None
    lock: threading.Lock

    def save(self) -> None:
        if self.checkpoint is not None:
            state.save(self.checkpoint, self.strategy.state_dict())


def validate(experiment: ExperimentInput) -> None:
    """Everything a session would reject, without keeping one (ValidateAlgorithmSettings)."""
    settings = parse_settings(experiment.settings, experiment.name)
    strategies.build(experiment.nas, experiment.objective, settings)


class Sessions:
    """The sessions of one service, created (and restored from a checkpoint) on first use."""

    def __init__(self, state_dir: Path | None) -> None:
        self.state_dir = state_dir
        self._sessions: dict[tuple[object, ...], Session] = {}
        self._lock = threading.Lock()

    def get(self, experiment: ExperimentInput) -> Session:
        settings = parse_settings(experiment.settings, experiment.name)
        key = (experiment.name, experiment.nas, experiment.objective, settings)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._new(experiment, settings)
                self._sessions[key] = session
        return session

    def _new(self, experiment: ExperimentInput, settings: EnasSettings) -> Session:
        strategy = strategies.build(experiment.nas, experiment.objective, settings)
        space = strategy.space
        checkpoint = None
        if self.state_dir is not None and self.state_dir.is_dir():
            checkpoint = state.checkpoint_path(self.state_dir, experiment.name)
            strategy = _restored(strategy, checkpoint, experiment, settings)
        log.info(
            "experiment %s: %s space, %s, %s strategy, seed %d",
            experiment.name,
            space.kind,
            space.summary(),
            strategy.name,
            settings.seed,
        )
        return Session(strategy, settings, checkpoint, threading.Lock())


def _restored(
    strategy: SearchStrategy[Any],
    checkpoint: Path,
    experiment: ExperimentInput,
    settings: EnasSettings,
) -> SearchStrategy[Any]:
    """`strategy` with the checkpoint's state, or a fresh one when the checkpoint does not fit."""
    saved = state.load(checkpoint)
    if saved is None:
        return strategy
    try:
        strategy.load_state_dict(saved)
    except (KatibEnasError, KeyError, ValueError, RuntimeError) as error:
        log.warning("experiment %s: not resuming from %s: %s", experiment.name, checkpoint, error)
        return strategies.create(strategy.space, experiment.objective, settings)
    log.info(
        "experiment %s: resumed from %s (%d trials learned)",
        experiment.name,
        checkpoint,
        len(strategy.learned_trials),
    )
    return strategy
