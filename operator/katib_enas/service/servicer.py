"""Katib's `api.v1.beta1.Suggestion` servicer: converts requests, calls the core, converts back.

Errors: our own exceptions (bad input) become INVALID_ARGUMENT with the message naming the field.
Anything else is a bug of ours: it becomes UNKNOWN with a short message, and its traceback is
logged. Never INTERNAL: Katib's controller counts INTERNAL from ValidateAlgorithmSettings as
valid and would accept an experiment that then fails on every call, while UNKNOWN fails it at
once. A reply never holds a different number of assignments than was asked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from katib_enas.core.errors import InvalidSettingsError, KatibEnasError
from katib_enas.core.settings import ECHOED
from katib_enas.core.strategies import LearnReport
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.service import sessions
from katib_enas.service.convert import (
    experiment_from_proto,
    reply_from_assignments,
    trials_from_proto,
)
from katib_enas.service.metrics import ServiceMetrics

log = logging.getLogger(__name__)

MAX_REQUEST_NUMBER = 10_000
R = TypeVar("R")
# Called with (experiment name, report) after every GetSuggestions that learned: the local runner
# keeps the controller's per-update history this way (Prometheus keeps only the latest values).
LearnListener = Callable[[str, LearnReport], None]


class SuggestionServicer(pb_grpc.SuggestionServicer):
    """The ENAS suggestion service; one instance serves any number of experiments."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        state_dir: Path | None = None,
        on_learned: LearnListener | None = None,
    ) -> None:
        self.metrics = metrics
        self.sessions = sessions.Sessions(state_dir)
        self.on_learned = on_learned

    def ValidateAlgorithmSettings(  # noqa: N802 (gRPC method name)
        self, request: pb.ValidateAlgorithmSettingsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateAlgorithmSettingsReply:
        def validate() -> pb.ValidateAlgorithmSettingsReply:
            sessions.validate(experiment_from_proto(request.experiment))
            self.metrics.watch(request.experiment.name)  # its counters start at 0 from now
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
        session = self.sessions.get(experiment_from_proto(request.experiment))
        trials = trials_from_proto(request.trials)
        key = int(request.total_request_number) * 1_000_003 + len(trials)
        with session.lock:
            report = session.strategy.observe(trials)
            if report.learned:
                session.save()
            architectures = session.strategy.suggest(count, key) if count else []
            assignments = [session.strategy.assignments(a) for a in architectures]
        self.metrics.record_request(request.experiment.name, report, len(assignments))
        if report.learned and self.on_learned is not None:
            self.on_learned(request.experiment.name, report)
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
            code = grpc.StatusCode.UNKNOWN
            message = f"unexpected error in the suggestion service: {type(error).__name__}: {error}"
            log.exception("%s failed", method)
        self.metrics.record_rpc(method, code.name, time.perf_counter() - started)
        if code is not grpc.StatusCode.OK:
            context.abort(code, message)
        return result  # type: ignore[no-any-return]
