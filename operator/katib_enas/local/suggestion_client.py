"""Katib's controller side of the Suggestion API, for a local run.

`GetSuggestions` with Katib's deadline and retries (`ValidateAlgorithmSettings` ran once,
before anything was created, in `preflight`). The service is ours, started in-process on
loopback with its checkpoints in the run directory, or any service at `--suggestion-address`.
Settings the service echoes back in a reply are merged into every later request, as Katib
stores them on its Suggestion object; they are kept in the run's store so that `--resume` sends
them too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from katib_enas.experiment import Experiment
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.requests import suggestions_request
from katib_enas.local.rundir import RunError
from katib_enas.local.store import Store, StoredTrial

if TYPE_CHECKING:
    from katib_enas.core.strategies import LearnReport
    from katib_enas.service.metrics import ServiceMetrics
    from katib_enas.service.server import SuggestionServer

log = logging.getLogger(__name__)

# Katib gives a GetSuggestions call 60 s and retries failures with back-off; so do we, a while.
DEADLINE_S = 60.0
ATTEMPTS = 6
_MESSAGE_BYTES = 64 << 20
ECHOED_KEY = "echoed_settings"


@dataclass(frozen=True)
class Suggested:
    """One assignment set of a reply."""

    trial_name: str  # empty: the runner names the trial
    assignments: list[tuple[str, str]]
    labels: dict[str, str]


class SuggestionClient:
    def __init__(self, experiment: Experiment, store: Store) -> None:
        self.experiment = experiment
        self.store = store
        self.echoed: list[tuple[str, str]] = [
            (str(k), str(v)) for k, v in json.loads(store.get_meta(ECHOED_KEY) or "[]")
        ]
        self._server: SuggestionServer | None = None
        self.address = ""  # once connected
        self._metrics: ServiceMetrics | None = None
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.SuggestionStub | None = None

    def connect(
        self, address: str | None, state_dir: Path, metrics_at: tuple[str, int] | None = None
    ) -> None:
        """Reach the service, starting ours when `address` is None (with its `/metrics` on
        `metrics_at` = (host, port) if given). ValidateAlgorithmSettings ran before the run
        directory was made (`preflight`)."""
        if address is None:
            from katib_enas.service.memory_limit import cgroup_memory_limit
            from katib_enas.service.metrics import ServiceMetrics
            from katib_enas.service.server import start_server

            self._metrics = ServiceMetrics(memory_limit_bytes=cgroup_memory_limit())
            if metrics_at is not None:
                self._metrics.serve(metrics_at[1], metrics_at[0])
            started = start_server(
                "127.0.0.1:0",
                state_dir=state_dir,
                metrics=self._metrics,
                on_learned=self._record_updates,
                advertise="127.0.0.1:{port}",  # trials reach the shared-weights store here
            )
            self._server = started
            address = f"127.0.0.1:{started.port}"
            log.info("suggestion service on %s (state in %s)", address, state_dir)
        options = [
            ("grpc.max_receive_message_length", _MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MESSAGE_BYTES),
        ]
        self.address = address
        self._channel = grpc.insecure_channel(address, options=options)
        self._stub = pb_grpc.SuggestionStub(self._channel)

    def _record_updates(self, experiment: str, report: LearnReport) -> None:
        """Keep the in-process controller's updates in the run's store (the report plots them);
        a service elsewhere (`--suggestion-address`) keeps its own."""
        if experiment == self.experiment.name and report.history:
            self.store.add_controller_updates(report.history)

    def suggest(self, trials: Sequence[StoredTrial], wanted: int) -> list[Suggested]:
        """`wanted` new assignment sets for a history of `trials`, retried as Katib retries."""
        request = suggestions_request(
            self.experiment, trials, current=wanted, total=len(trials) + wanted, echoed=self.echoed
        )
        assert self._stub is not None, "connect() first"
        delay = 1.0
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self._stub.GetSuggestions(request, timeout=DEADLINE_S)
            except grpc.RpcError as error:
                problem = f"{error.code().name}: {error.details()}"
            else:
                if len(reply.parameter_assignments) == wanted:
                    return self._accept(reply)
                problem = f"{len(reply.parameter_assignments)} assignment(s) for {wanted} requested"
            log.warning("GetSuggestions attempt %d: %s", attempt, problem)
            if attempt == ATTEMPTS:
                raise RunError(f"GetSuggestions kept failing ({problem})")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def _accept(self, reply: pb.GetSuggestionsReply) -> list[Suggested]:
        settings = [(s.name, s.value) for s in reply.algorithm.algorithm_settings]
        if settings:
            merged = dict(self.echoed)
            merged.update(settings)
            self.echoed = list(merged.items())
            self.store.set_meta(ECHOED_KEY, json.dumps(self.echoed))
        return [
            Suggested(
                item.trial_name,
                [(a.name, a.value) for a in item.assignments],
                dict(item.labels),
            )
            for item in reply.parameter_assignments
        ]

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._server is not None:
            self._server.stop(grace=1.0)  # and saves the shared weights
            self._server = None
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
