"""One experiment's shared weights: ENAS's supernet as tensors by key, merged from trials' deltas.

The merge rule: a push carries, per tensor, what its trial's slice changed (`delta` = trained
minus pulled) and the store adds it to the tensor's *current* value. Pushes from trials that ran
in parallel therefore all count, in any order, however stale the version they started from, as
in asynchronous SGD; nothing is ever last-writer-wins. A key the trial found absent carries the
value it started from (`initial`): the first push to arrive creates the tensor as `initial +
delta`, a later one adds its delta to that.

A push is checked whole before anything changes: every key under the scopes of the pushed
architecture, shapes equal to the stored ones, finite numbers, a base version not from the
future, steps within the slice, the store's memory cap and its number of tensors. A bad push
raises `InvalidSharingError` and leaves the store as it was.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from katib_enas.core.errors import InvalidSharingError

STATE_VERSION = 1
# Tensors one store may hold: each costs memory beyond its bytes (the macro CIFAR-10 supernet has
# a few hundred), so a flood of tiny tensors cannot pass under `shared_store_mib`.
MAX_TENSORS = 100_000
_KEY = re.compile(r"[A-Za-z0-9_.\-/]{1,512}")


@dataclass(frozen=True)
class StoreStatus:
    version: int  # pushes applied
    global_step: int  # training steps pushed: the position in the shared schedule
    schedule_steps: int
    slice_steps: int


@dataclass(frozen=True)
class Update:
    """One tensor of a push."""

    key: str
    delta: Tensor
    initial: Tensor | None = None  # for a key that was absent when the trial pulled


def in_scopes(key: str, scopes: Iterable[str]) -> bool:
    return any(key.startswith(scope) for scope in scopes)


class SharedStore:
    """The tensors of one experiment's supernet, thread-safe."""

    def __init__(self, experiment: str, slice_steps: int, schedule_steps: int, max_bytes: int):
        self.experiment = experiment
        self.slice_steps = slice_steps
        self.schedule_steps = schedule_steps
        self.max_bytes = max_bytes
        self.version = 0
        self.global_step = 0
        self.tensors: dict[str, Tensor] = {}
        self.lock = threading.Lock()

    def status(self) -> StoreStatus:
        return StoreStatus(self.version, self.global_step, self.schedule_steps, self.slice_steps)

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())

    def pull(
        self, wanted: Sequence[tuple[str, tuple[int, ...]]], scopes: frozenset[str]
    ) -> tuple[StoreStatus, dict[str, Tensor | None]]:
        """Copies of the wanted tensors (None: not stored yet), with the status they belong to."""
        for key, shape in wanted:
            _check_key(key, scopes)
            if any(size < 1 for size in shape):
                raise InvalidSharingError(f"tensor {key!r}: shape {list(shape)} is not a shape")
        with self.lock:
            found: dict[str, Tensor | None] = {}
            for key, shape in wanted:
                stored = self.tensors.get(key)
                if stored is not None and tuple(stored.shape) != shape:
                    raise InvalidSharingError(_shape_message(key, shape, stored))
                found[key] = None if stored is None else stored.clone()
            return self.status(), found

    def push(
        self, base_version: int, steps: int, updates: Sequence[Update], scopes: frozenset[str]
    ) -> StoreStatus:
        """Apply a trial's deltas (the module docstring's rule) and count its steps."""
        with self.lock:
            self._check_push(base_version, steps, updates, scopes)
            for update in updates:
                stored = self.tensors.get(update.key)
                if stored is None:
                    assert update.initial is not None  # checked
                    self.tensors[update.key] = (update.initial + update.delta).contiguous()
                else:
                    stored.add_(update.delta)
            self.version += 1
            self.global_step += steps
            return self.status()

    def _check_push(
        self, base_version: int, steps: int, updates: Sequence[Update], scopes: frozenset[str]
    ) -> None:
        if not 0 <= base_version <= self.version:
            raise InvalidSharingError(
                f"base_version {base_version} is not a version of this store (now {self.version})"
            )
        if not 0 <= steps <= self.slice_steps:
            raise InvalidSharingError(
                f"steps {steps} outside the slice (0..{self.slice_steps}, shared_slice_steps)"
            )
        seen: set[str] = set()
        added = new = 0
        for update in updates:
            key = update.key
            _check_key(key, scopes)
            if key in seen:
                raise InvalidSharingError(f"tensor {key!r} is pushed twice")
            seen.add(key)
            if update.delta.dtype != torch.float32:
                raise InvalidSharingError(f"tensor {key!r}: dtype must be float32")
            if not bool(torch.isfinite(update.delta).all()):
                raise InvalidSharingError(f"tensor {key!r}: delta holds NaN or Inf")
            stored = self.tensors.get(key)
            shape = tuple(update.delta.shape)
            if stored is not None:
                if tuple(stored.shape) != shape:
                    raise InvalidSharingError(_shape_message(key, shape, stored))
                continue
            initial = update.initial
            if initial is None:
                raise InvalidSharingError(
                    f"tensor {key!r} is not stored yet: the push must carry its initial value"
                )
            if tuple(initial.shape) != shape or initial.dtype != torch.float32:
                raise InvalidSharingError(f"tensor {key!r}: initial and delta differ in shape")
            if not bool(torch.isfinite(initial).all()):
                raise InvalidSharingError(f"tensor {key!r}: initial value holds NaN or Inf")
            added += initial.numel() * initial.element_size()
            new += 1
        if new and len(self.tensors) + new > MAX_TENSORS:
            raise InvalidSharingError(
                f"the shared weights would hold {len(self.tensors) + new} tensors, more than "
                f"{MAX_TENSORS}"
            )
        if added and self.bytes + added > self.max_bytes:
            raise InvalidSharingError(
                f"the shared weights would take {(self.bytes + added) / 2**20:.1f} MiB, over "
                f"shared_store_mib ({self.max_bytes / 2**20:g} MiB)"
            )

    def state_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "state_version": STATE_VERSION,
                "experiment": self.experiment,
                "version": self.version,
                "global_step": self.global_step,
                "tensors": {key: t.clone() for key, t in self.tensors.items()},
            }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict()`; raise `InvalidSharingError` (changing nothing) unless it
        is a checkpoint of this experiment's store."""
        ours = state.get("experiment") == self.experiment
        if state.get("state_version") != STATE_VERSION or not ours:
            raise InvalidSharingError("not a shared-weights checkpoint of this experiment")
        tensors = state.get("tensors")
        version, step = state.get("version"), state.get("global_step")
        if not (isinstance(tensors, dict) and isinstance(version, int) and isinstance(step, int)):
            raise InvalidSharingError("damaged shared-weights checkpoint")
        for key, tensor in tensors.items():
            floats = isinstance(tensor, Tensor) and tensor.dtype == torch.float32
            if not floats or not _KEY.fullmatch(key):
                raise InvalidSharingError(f"damaged shared-weights checkpoint (tensor {key!r})")
        with self.lock:
            self.tensors = dict(tensors)
            self.version, self.global_step = version, step


def _check_key(key: str, scopes: frozenset[str]) -> None:
    if not _KEY.fullmatch(key):
        raise InvalidSharingError(f"tensor key {key[:80]!r} is not a supernet key")
    if not in_scopes(key, scopes):
        raise InvalidSharingError(
            f"tensor {key!r} is not used by this architecture (its scopes: "
            f"{', '.join(sorted(scopes)[:4])}{', ...' if len(scopes) > 4 else ''})"
        )


def _shape_message(key: str, shape: tuple[int, ...], stored: Tensor) -> str:
    return f"tensor {key!r}: shape {list(shape)} differs from the stored {list(stored.shape)}"
