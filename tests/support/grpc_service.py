"""Test support: a real suggestion server on 127.0.0.1 with real clients; Katib-shaped trials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from katib_enas.katib_api import pb, pb_grpc
from katib_enas.service.metrics import ServiceMetrics
from katib_enas.service.server import SuggestionServer, start_server


@dataclass
class Running:
    server: SuggestionServer
    channel: grpc.Channel
    suggestion: Any  # pb_grpc.SuggestionStub
    health: Any  # health_pb2_grpc.HealthStub
    metrics: ServiceMetrics


def connect(state_dir: Path | None = None, advertise: str | None = None) -> Running:
    metrics = ServiceMetrics()
    server = start_server("127.0.0.1:0", state_dir=state_dir, metrics=metrics, advertise=advertise)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    return Running(
        server,
        channel,
        pb_grpc.SuggestionStub(channel),
        health_pb2_grpc.HealthStub(channel),
        metrics,
    )


def katib_trial(
    experiment: Any,
    name: str,
    assignments: Mapping[str, str],
    condition: int = pb.TrialStatus.SUCCEEDED,
    *,
    metrics: Mapping[str, str] | None = None,
    completion_time: str = "",
) -> Any:
    """A trial shaped as Katib sends it: spec.objective, latest condition, observation if any."""
    status = pb.TrialStatus(
        condition=condition, start_time="2026-11-28T00:00:00Z", completion_time=completion_time
    )
    for metric, value in (metrics or {}).items():
        status.observation.metrics.add(name=metric, value=value)
    return pb.Trial(
        name=name,
        spec=pb.TrialSpec(
            objective=experiment.spec.objective,
            parameter_assignments=pb.TrialSpec.ParameterAssignments(
                assignments=[
                    pb.ParameterAssignment(name=k, value=v) for k, v in assignments.items()
                ]
            ),
        ),
        status=status,
    )


def assignments_of(reply: Any) -> list[dict[str, str]]:
    return [{a.name: a.value for a in one.assignments} for one in reply.parameter_assignments]


def renamed(experiment: Any, name: str) -> Any:
    """A copy of an `api.v1.beta1.Experiment` under another name (a second experiment)."""
    copy = pb.Experiment()
    copy.CopyFrom(experiment)
    copy.name = name
    return copy


def drive(
    stub: Any, experiment: Any, accuracies: list[float | None], *, parallel: int = 2
) -> list[Any]:
    """Katib's conversation for one experiment: GetSuggestions for `parallel` trials, each finishing
    with the next accuracy (None: FAILED), until every accuracy is used; then one more call that
    learns from the last of them. Returns the trials Katib would hold."""
    trials: list[Any] = []
    metric = experiment.spec.objective.objective_metric_name
    while len(trials) < len(accuracies):
        wanted = min(parallel, len(accuracies) - len(trials))
        request = pb.GetSuggestionsRequest(
            experiment=experiment,
            trials=trials,
            current_request_number=wanted,
            total_request_number=len(trials) + wanted,
        )
        for one in assignments_of(stub.GetSuggestions(request, timeout=60)):
            number = len(trials)
            accuracy = accuracies[number]
            trials.append(
                katib_trial(
                    experiment,
                    f"{experiment.name}-{number:04d}",
                    one,
                    pb.TrialStatus.FAILED if accuracy is None else pb.TrialStatus.SUCCEEDED,
                    metrics={} if accuracy is None else {metric: f"{accuracy:.4f}"},
                    completion_time=f"2026-11-28T01:{number // 60:02d}:{number % 60:02d}Z",
                )
            )
    final = pb.GetSuggestionsRequest(
        experiment=experiment,
        trials=trials,
        current_request_number=0,
        total_request_number=len(trials),
    )
    stub.GetSuggestions(final, timeout=60)
    return trials
