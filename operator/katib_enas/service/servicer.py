"""Katib's `api.v1.beta1.Suggestion` servicer: converts requests, calls the core, converts back.

Errors: our own exceptions (bad input) become INVALID_ARGUMENT with the message naming the field;
anything else becomes INTERNAL with a short message and a logged traceback. Neither ever reaches
Katib as UNKNOWN, and a reply never holds a different number of assignments than was asked for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

from katib_enas.core import state
from katib_enas.core.enas import EnasStrategy
from katib_enas.core.errors import InvalidSettingsError, KatibEnasError
from katib_enas.core.search_space import SearchSpace
from katib_enas.core.settings import ECHOED, EnasSettings, parse_settings
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.service.convert import (
    ExperimentInput,
    experiment_from_proto,
    reply_from_assignments,
    trials_from_proto,
)
from katib_enas.service.metrics import ServiceMetrics

log = logging.getLogger(__name__)

MAX_REQUEST_NUMBER = 10_000
R = TypeVar("R")


@dataclass
class Session:
    """One experiment's strategy, its checkpoint file and the lock that serialises its calls."""

    strategy: EnasStrategy
    settings: EnasSettings
    checkpoint: Path | None
    lock: threading.Lock


class SuggestionServicer(pb_grpc.SuggestionServicer):  # type: ignore[misc]
    """The ENAS suggestion service; one instance serves any number of experiments."""

    def __init__(self, metrics: ServiceMetrics, state_dir: Path | None = None) -> None:
        self.metrics = metrics
        self.state_dir = state_dir
        self._sessions: dict[tuple[object, ...], Session] = {}
        self._sessions_lock = threading.Lock()

    def ValidateAlgorithmSettings(  # noqa: N802 (gRPC method name)
        self, request: pb.ValidateAlgorithmSettingsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateAlgorithmSettingsReply:
        def validate() -> pb.ValidateAlgorithmSettingsReply:
            experiment = experiment_from_proto(request.experiment)
            SearchSpace.from_nas_config(experiment.nas)
            parse_settings(experiment.settings, experiment.name)
            return pb.ValidateAlgorithmSettingsReply()

        return self._call("ValidateAlgorithmSettings", context, validate)

    def GetSuggestions(  # noqa: N802 (gRPC method name)
        self, request: pb.GetSuggestionsRequest, context: grpc.ServicerContext
    ) -> pb.GetSuggestionsReply:
        return self._call("GetSuggestions", context, lambda: self._suggest(request))

    def _suggest(self, request: pb.GetSuggestionsRequest) -> pb.GetSuggestionsReply:
        count = int(request.current_request_number)
        if count < 0 or count > MAX_REQUEST_NUMBER:
            raise InvalidSettingsError(
                f"current_request_number must be in 0..{MAX_REQUEST_NUMBER}, got {count}"
            )
        session = self._session(request.experiment)
        trials = trials_from_proto(request.trials)
        key = int(request.total_request_number) * 1_000_003 + len(trials)
        with session.lock:
            report = session.strategy.observe(trials)
            if report.learned and session.checkpoint is not None:
                state.save(session.checkpoint, session.strategy.state_dict())
            architectures = session.strategy.suggest(count, key) if count else []
            assignments = [session.strategy.assignments(a) for a in architectures]
        self.metrics.record_learning(report)
        self.metrics.suggestions.inc(len(assignments))
        if report.learned:
            log.info(
                "experiment %s: learned from %d trial(s) (%d updates%s) in %.3fs; suggesting %d",
                request.experiment.name,
                report.learned,
                report.updates,
                ", replayed" if report.replayed else "",
                report.seconds,
                count,
            )
        echoed = [(name, str(getattr(session.settings, name))) for name in ECHOED]
        return reply_from_assignments(assignments, echoed)

    def _session(self, experiment_proto: pb.Experiment) -> Session:
        """The experiment's session, created (and restored from its checkpoint) on first use.

        Keyed by what the session depends on, not by the raw request: Katib echoes our `seed`
        back into the settings, which must not start a second session.
        """
        experiment = experiment_from_proto(experiment_proto)
        settings = parse_settings(experiment.settings, experiment.name)
        key = (experiment.name, experiment.nas, experiment.objective, settings)
        with self._sessions_lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._new_session(experiment, settings)
                self._sessions[key] = session
        return session

    def _new_session(self, experiment: ExperimentInput, settings: EnasSettings) -> Session:
        space = SearchSpace.from_nas_config(experiment.nas)
        strategy = EnasStrategy(space, experiment.objective, settings)
        checkpoint = None
        if self.state_dir is not None and self.state_dir.is_dir():
            checkpoint = state.checkpoint_path(self.state_dir, experiment.name)
            saved = state.load(checkpoint)
            if saved is not None:
                try:
                    strategy.load_state_dict(saved)
                    log.info(
                        "experiment %s: resumed from %s (%d trials learned)",
                        experiment.name,
                        checkpoint,
                        len(strategy.learned_trials),
                    )
                except (KatibEnasError, KeyError, ValueError, RuntimeError) as error:
                    log.warning(
                        "experiment %s: not resuming from %s: %s",
                        experiment.name,
                        checkpoint,
                        error,
                    )
                    strategy = EnasStrategy(space, experiment.objective, settings)
        log.info(
            "experiment %s: %d layers, %d operations, seed %d",
            experiment.name,
            space.num_layers,
            space.num_operations,
            settings.seed,
        )
        return Session(strategy, settings, checkpoint, threading.Lock())

    def _call(self, method: str, context: grpc.ServicerContext, body: Callable[[], R]) -> R:
        """Run one RPC body with timing, metrics and the error mapping of the module docstring."""
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        message = ""
        result: Any = None
        try:
            result = body()
        except KatibEnasError as error:
            code, message = grpc.StatusCode.INVALID_ARGUMENT, str(error)
            log.warning("%s: INVALID_ARGUMENT: %s", method, message)
        except Exception as error:
            code, message = grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}"
            log.exception("%s failed", method)
        elapsed = time.perf_counter() - started
        label = code.name
        self.metrics.rpc_requests.labels(method, label).inc()
        self.metrics.rpc_duration.labels(method, label).observe(elapsed)
        if code is not grpc.StatusCode.OK:
            context.abort(code, message)
        return result  # type: ignore[no-any-return]
