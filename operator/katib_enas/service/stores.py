"""The shared-weights stores of one service, one per experiment, and their checkpoints.

A store opens on an experiment's first `GetSuggestions` with `weight_sharing: true`, or on a
trial's Pull or Push for an experiment the service knows: one it has a session or a saved store
for, or the one experiment it is dedicated to (`KATIB_ENAS_EXPERIMENT`, set from the suggestion
pod's `katib.kubeflow.org/experiment` label: after a restart, trials may come before Katib calls
again). Any other experiment is unknown: INVALID_ARGUMENT, and nothing is created. A store
resumes from `<state_dir>/<experiment>/shared-weights.pt` when that file is there; without a
volume it starts fresh, with a warning in the log. Saving is never fatal
(`core.state`): after a push at most every `SAVE_INTERVAL_S`, with the controller's checkpoint,
and when the server stops.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from katib_enas.core import state
from katib_enas.core.errors import InvalidSharingError
from katib_enas.core.sharing.reference import StoreReference
from katib_enas.core.sharing.store import SharedStore

log = logging.getLogger(__name__)

FILE_NAME = "shared-weights.pt"
SAVE_INTERVAL_S = 10.0


@dataclass
class _Held:
    store: SharedStore
    checkpoint: Path | None
    saved_at: float = field(default_factory=time.monotonic)
    save_lock: threading.Lock = field(default_factory=threading.Lock)


class Stores:
    def __init__(self, state_dir: Path | None, dedicated_to: str | None = None) -> None:
        self.state_dir = state_dir
        self.dedicated_to = dedicated_to
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def open(self, reference: StoreReference, *, known: bool) -> SharedStore:
        """The experiment's store, opened (and resumed) on first use; later references update
        its slice settings (the session's settings are the truth). `known`: the service has a
        session for the experiment."""
        name = reference.experiment
        with self._lock:
            held = self._held.get(name)
            if held is None:
                self._check_known(name, known)
                held = self._open(reference)
                self._held[name] = held
        store = held.store
        store.slice_steps = reference.slice_steps
        store.schedule_steps = reference.schedule_steps
        store.max_bytes = reference.max_bytes
        return store

    def _check_known(self, name: str, known: bool) -> None:
        if self.dedicated_to is not None:
            if name != self.dedicated_to:
                raise InvalidSharingError(
                    f"experiment {name!r} is unknown here: this suggestion service serves "
                    f"experiment {self.dedicated_to!r}"
                )
            return
        checkpoint = self._checkpoint(name)
        if known or (checkpoint is not None and checkpoint.is_file()):
            return
        raise InvalidSharingError(
            f"experiment {name!r} is unknown here: no session and no saved shared weights "
            "for it in this suggestion service"
        )

    def _checkpoint(self, name: str) -> Path | None:
        if self.state_dir is None or not self.state_dir.is_dir():
            return None
        return state.checkpoint_path(self.state_dir, name).with_name(FILE_NAME)

    def after_push(self, experiment: str) -> None:
        """Save the store if the last save is older than `SAVE_INTERVAL_S`."""
        held = self._held.get(experiment)
        if held is not None and time.monotonic() - held.saved_at >= SAVE_INTERVAL_S:
            self._save(held)

    def save(self, experiment: str) -> None:
        held = self._held.get(experiment)
        if held is not None:
            self._save(held)

    def save_all(self) -> None:
        for held in list(self._held.values()):
            self._save(held)

    def _save(self, held: _Held) -> None:
        if held.checkpoint is None or not held.save_lock.acquire(blocking=False):
            return  # no volume, or a save is under way
        try:
            held.saved_at = time.monotonic()
            state.save(held.checkpoint, held.store.state_dict())
        finally:
            held.save_lock.release()

    def _open(self, reference: StoreReference) -> _Held:
        name = reference.experiment
        store = SharedStore(
            name, reference.slice_steps, reference.schedule_steps, reference.max_bytes
        )
        checkpoint = self._checkpoint(name)
        if checkpoint is None:
            log.warning(
                "experiment %s: no state volume: shared weights start fresh and are lost when "
                "the service restarts (resumePolicy: FromVolume keeps them)",
                name,
            )
            return _Held(store, None)
        saved = state.load(checkpoint)
        if saved is None:
            log.warning("experiment %s: no saved shared weights: starting fresh ones", name)
            return _Held(store, checkpoint)
        try:
            store.load_state_dict(saved)
        except InvalidSharingError as error:
            log.warning("experiment %s: not resuming from %s: %s", name, checkpoint, error)
            return _Held(store, checkpoint)
        log.info(
            "experiment %s: shared weights resumed from %s (version %d, %d tensors, %.1f MiB)",
            name,
            checkpoint,
            store.version,
            len(store.tensors),
            store.bytes / 2**20,
        )
        return _Held(store, checkpoint)
