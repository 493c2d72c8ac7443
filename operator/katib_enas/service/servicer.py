"""Katib's `api.v1.beta1.Suggestion` servicer: converts requests, calls the core, converts back.

Errors map as `guard` says (INVALID_ARGUMENT naming the field, UNKNOWN for bugs, never
INTERNAL). A reply never holds a different number of assignments than was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import grpc

from katib_enas.core.errors import InvalidSettingsError
from katib_enas.core.settings import ECHOED
from katib_enas.core.strategies import LearnReport
from katib_enas.core.trials import TrialRecord
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.service import convert, sessions
from katib_enas.service.admission import Admission
from katib_enas.service.convert import (
    ExperimentInput,
    experiment_from_proto,
    reply_from_assignments,
)
from katib_enas.service.guard import guarded
from katib_enas.service.metrics import ServiceMetrics
from katib_enas.service.sessions import Sessions
from katib_enas.service.stores import Stores

log = logging.getLogger(__name__)

MAX_REQUEST_NUMBER = 10_000
# Called with (experiment name, report) after every GetSuggestions that learned: the local runner
# keeps the controller's per-update history this way (Prometheus keeps only the latest values).
LearnListener = Callable[[str, LearnReport], None]


@dataclass(frozen=True)
class SeenRequest:
    """What one GetSuggestions said, for a listener that shows it (`katib-enas serve`'s live
    report keeps the latest per experiment). The listener runs on the gRPC path: it must only
    keep references."""

    experiment: ExperimentInput
    trials: Sequence[TrialRecord]  # as the strategy observed them
    start_times: Callable[[], Mapping[str, str]]  # trial name -> start time, read when called


RequestListener = Callable[[SeenRequest], None]


def counted(number: int, noun: str) -> str:
    """`1 trial`, `3 trials`: log lines people read."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


class SuggestionServicer(pb_grpc.SuggestionServicer):
    """The ENAS suggestion service; one instance serves any number of experiments."""

    def __init__(
        self,
        metrics: ServiceMetrics,
        sessions: Sessions,
        stores: Stores,
        *,
        on_learned: LearnListener | None = None,
        on_request: RequestListener | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.metrics = metrics
        self.sessions = sessions
        self.stores = stores
        self.on_learned = on_learned
        self.on_request = on_request
        self.admission = admission or Admission()  # Katib's calls go first (`admission`)

    def ValidateAlgorithmSettings(  # noqa: N802 (gRPC method name)
        self, request: pb.ValidateAlgorithmSettingsRequest, context: grpc.ServicerContext
    ) -> pb.ValidateAlgorithmSettingsReply:
        def validate() -> pb.ValidateAlgorithmSettingsReply:
            with self.admission.katib_call():
                sessions.validate(experiment_from_proto(request.experiment))
            self.metrics.watch(request.experiment.name)  # its counters start at 0 from now
            return pb.ValidateAlgorithmSettingsReply()

        return guarded(self.metrics, "ValidateAlgorithmSettings", context, validate)

    def GetSuggestions(  # noqa: N802 (gRPC method name)
        self, request: pb.GetSuggestionsRequest, context: grpc.ServicerContext
    ) -> pb.GetSuggestionsReply:
        def suggest() -> pb.GetSuggestionsReply:
            with self.admission.katib_call():
                return self._suggest(request)

        return guarded(self.metrics, "GetSuggestions", context, suggest)

    def _suggest(self, request: pb.GetSuggestionsRequest) -> pb.GetSuggestionsReply:
        count = int(request.current_request_number)
        if count < 0 or count > MAX_REQUEST_NUMBER:
            raise InvalidSettingsError(
                f"current_request_number must be in 0..{MAX_REQUEST_NUMBER}, got {count}"
            )
        session = self.sessions.get(experiment_from_proto(request.experiment))
        key = int(request.total_request_number) * 1_000_003 + len(request.trials)
        with session.lock:
            trials = session.known.convert(request.trials)
            if session.reference is not None:
                self.stores.open(session.reference, known=True)
            report = session.strategy.observe(trials)
            if report.learned:
                session.save()
                self.stores.save(request.experiment.name)
            architectures = session.strategy.suggest(count, key) if count else []
            assignments = [session.assignments(a) for a in architectures]
        self.metrics.record_request(request.experiment.name, report, len(assignments))
        if self.on_request is not None:
            seen = request.trials  # read again only if a page asks for start times
            self.on_request(
                SeenRequest(
                    experiment_from_proto(request.experiment),
                    trials,
                    lambda: convert.start_times_from_proto(seen),
                )
            )
        if report.learned and self.on_learned is not None:
            self.on_learned(request.experiment.name, report)
        if report.learned:
            log.info(
                "experiment %s: learned from %s (%s%s) in %.3f s; suggesting %d",
                request.experiment.name,
                counted(report.learned, "trial"),
                counted(report.updates, "policy update") if report.updates else "no policy update",
                ", replayed" if report.replayed else "",
                report.seconds,
                count,
            )
        echoed = [(name, str(getattr(session.settings, name))) for name in ECHOED]
        return reply_from_assignments(assignments, echoed)
