"""Per-experiment sessions: the parsed space, the strategy, its checkpoint and its lock.

One service serves any number of experiments (Katib runs one per experiment, the local runner
and tests share one). A session is keyed by what it depends on (the experiment's name, search
space, objective and parsed settings), not by the raw request: Katib echoes our `seed` back
into the settings, which must not start a second session. A Katib experiment has one setup for
its whole life; only the `MAX_SETUPS` most recently used setups of one name are kept, so that a
client sending endless variants of one experiment cannot grow the service's memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from katib_enas.core import state, strategies
from katib_enas.core.errors import InvalidSharingError, KatibEnasError
from katib_enas.core.settings import EnasSettings, parse_settings
from katib_enas.core.sharing.reference import StoreReference, with_reference
from katib_enas.core.strategies import SearchStrategy
from katib_enas.service.convert import ExperimentInput, KnownTrials

# Where trials reach this service: (experiment, algorithm) -> "host:port".
AddressOf = Callable[[str, str], str]
DEFAULT_TRIALS = 100  # the schedule's length in trials when maxTrialCount is not set
MAX_SETUPS = 4  # sessions kept per experiment name (module docstring)

log = logging.getLogger(__name__)

RESTART_FRACTION = 15


@dataclass
class Session:
    """One experiment's strategy, its checkpoint file and the lock that serialises its calls."""

    strategy: SearchStrategy[Any]
    settings: EnasSettings
    checkpoint: Path | None
    lock: threading.Lock
    reference: StoreReference | None = None  # with weight_sharing: the experiment's store
    known: KnownTrials = field(default_factory=KnownTrials)  # the last call's trials, converted

    def save(self) -> None:
        if self.checkpoint is not None:
            state.save(self.checkpoint, self.strategy.state_dict())

    def assignments(self, architecture: Any) -> dict[str, str]:
        """Katib's assignments for `architecture`, with the store's reference when sharing."""
        assignments = self.strategy.assignments(architecture)
        if self.reference is None:
            return assignments
        return with_reference(assignments, self.reference)


def validate(experiment: ExperimentInput) -> None:
    """Everything a session would reject, without keeping one (ValidateAlgorithmSettings)."""
    settings = parse_settings(experiment.settings, experiment.name)
    strategies.build(experiment.nas, experiment.objective, settings)


class Sessions:
    """The sessions of one service, created (and restored from a checkpoint) on first use."""

    def __init__(self, state_dir: Path | None, address_of: AddressOf) -> None:
        self.state_dir = state_dir
        self.address_of = address_of
        self._sessions: dict[tuple[object, ...], Session] = {}
        self._latest: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, experiment: ExperimentInput) -> Session:
        settings = parse_settings(experiment.settings, experiment.name)
        key = (experiment.name, experiment.nas, experiment.objective, settings)
        with self._lock:
            session = self._sessions.pop(key, None)
            if session is None:
                session = self._new(experiment, settings)
            self._sessions[key] = session  # last: the dict's order is the order of use
            self._latest[experiment.name] = session
            same_name = [k for k in self._sessions if k[0] == experiment.name]
            for old in same_name[: max(len(same_name) - MAX_SETUPS, 0)]:
                del self._sessions[old]
        return session

    def count(self, experiment: str) -> int:
        """Sessions held for the experiment's name (one per setup, at most `MAX_SETUPS`)."""
        with self._lock:
            return sum(1 for key in self._sessions if key[0] == experiment)

    def knows(self, experiment: str) -> bool:
        with self._lock:
            return experiment in self._latest

    def latest(self, experiment: str) -> Session:
        """The session Katib last asked about `experiment` (for `Sample`)."""
        with self._lock:
            session = self._latest.get(experiment)
        if session is None:
            raise InvalidSharingError(
                f"experiment {experiment!r} has no controller in this service yet: Katib has "
                "not asked it for suggestions since it started"
            )
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
        return Session(
            strategy, settings, checkpoint, threading.Lock(), self._reference(experiment, settings)
        )

    def _reference(
        self, experiment: ExperimentInput, settings: EnasSettings
    ) -> StoreReference | None:
        if not settings.weight_sharing:
            return None
        trials = experiment.max_trial_count or DEFAULT_TRIALS
        schedule = max(settings.shared_schedule_steps or trials * settings.shared_slice_steps, 1)
        # By default four cycles (1 + 2 + 4 + 8 fifteenths with T_mul 2) end with the schedule.
        restart = settings.shared_restart_steps or max(schedule // RESTART_FRACTION, 1)
        return StoreReference(
            address=self.address_of(experiment.name, experiment.algorithm or "enas"),
            experiment=experiment.name,
            slice_steps=settings.shared_slice_steps,
            schedule_steps=schedule,
            store_mib=settings.shared_store_mib,
            restart_steps=restart,
            restart_mult=settings.shared_restart_mult,
            lr_floor=settings.shared_lr_floor,
        )


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
