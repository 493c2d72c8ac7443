"""Admission of shared-weights calls: the store's trials must never take the threads that Katib's
GetSuggestions and the kubelet's health probe need, and one client must not crowd out the others.

The server's thread pool has `STORE_SLOTS` threads more than its Suggestion workers; at most
`STORE_SLOTS` Pull, Push or Sample calls run at once, at most `PER_CLIENT` of them from one
client connection. A call beyond that is refused at once with UNAVAILABLE, before anything is
read: the trial's link retries it (a refused push was not applied), and a client that floods
the store with concurrent calls gets its own share and no more. Waiting for a slot instead would
hold a thread, which is what this module prevents.

Katib's calls also go first for the interpreter: the store's calls share it (and its GIL) with
GetSuggestions, so while a Katib call runs, a store call pauses at its next chunk boundary
(`yield_to_katib`, at most `YIELD_S` each time) instead of taking turns with it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

STORE_SLOTS = 16  # concurrent store calls: every trial of a large parallelTrialCount
PER_CLIENT = 2  # concurrent store calls of one client connection (a trial makes one at a time)
YIELD_S = 0.05  # the longest a store call pauses at one boundary for a Katib call


class StoreBusyError(Exception):
    """Every slot is taken, or the client already holds its share; answered UNAVAILABLE."""


class Admission:
    def __init__(self, slots: int = STORE_SLOTS, per_client: int = PER_CLIENT) -> None:
        self.slots = slots
        self.per_client = per_client
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()
        self._katib_calls = 0
        self._katib_quiet = threading.Event()
        self._katib_quiet.set()

    @contextmanager
    def katib_call(self) -> Iterator[None]:
        """Mark a Katib call (GetSuggestions, ValidateAlgorithmSettings) as running."""
        with self._lock:
            self._katib_calls += 1
            self._katib_quiet.clear()
        try:
            yield
        finally:
            with self._lock:
                self._katib_calls -= 1
                if not self._katib_calls:
                    self._katib_quiet.set()

    def yield_to_katib(self) -> None:
        """For a store call at a chunk boundary: wait while a Katib call runs (bounded)."""
        self._katib_quiet.wait(YIELD_S)

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Hold a slot for `client` (gRPC's `context.peer()`) while the call runs."""
        with self._lock:
            total = sum(self._busy.values())
            mine = self._busy.get(client, 0)
            if total >= self.slots or mine >= self.per_client:
                raise StoreBusyError(
                    f"the shared-weights store is busy ({total} calls in progress, {mine} of "
                    "them yours): retry"
                )
            self._busy[client] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._busy[client] - 1
                if left:
                    self._busy[client] = left
                else:
                    del self._busy[client]
