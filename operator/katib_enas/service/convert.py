"""The suggestion service's protobuf boundary: Katib requests in, domain objects out, and
suggestions back to replies. The servicer and the core never touch `*_pb2` messages; the local
runner, which plays Katib's side, builds its requests in `katib_enas.local.requests`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from katib_enas.core.errors import InvalidSearchSpaceError, InvalidSettingsError
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
)
from katib_enas.core.trials import TrialRecord
from katib_enas.katib_api import pb


@dataclass(frozen=True)
class ExperimentInput:
    """What a request says about its experiment, in domain types."""

    name: str
    objective: Objective
    settings: tuple[tuple[str, str], ...]
    nas: NasConfig
    algorithm: str = ""
    max_trial_count: int = 0  # 0: not set


def experiment_from_proto(experiment: pb.Experiment) -> ExperimentInput:
    spec = experiment.spec
    return ExperimentInput(
        name=experiment.name,
        objective=objective_from_proto(spec.objective),
        settings=tuple((s.name, s.value) for s in spec.algorithm.algorithm_settings),
        nas=nas_from_proto(spec.nas_config),
        algorithm=spec.algorithm.algorithm_name,
        max_trial_count=max(int(spec.max_trial_count), 0),
    )


def objective_from_proto(objective: pb.ObjectiveSpec) -> Objective:
    if objective.type == pb.MAXIMIZE:
        kind = ObjectiveType.MAXIMIZE
    elif objective.type == pb.MINIMIZE:
        kind = ObjectiveType.MINIMIZE
    else:
        raise InvalidSettingsError("objective.type must be maximize or minimize")
    if not objective.objective_metric_name:
        raise InvalidSettingsError("objective.objectiveMetricName is missing")
    # proto3 `double goal` has no presence: 0 means "no goal" as often as it means 0.
    return Objective(
        kind,
        objective.objective_metric_name,
        objective.goal or None,
        tuple(objective.additional_metric_names),
    )


def nas_from_proto(nas: pb.NasConfig) -> NasConfig:
    graph = nas.graph_config
    operations = []
    for i, op in enumerate(nas.operations.operation):
        params = []
        for j, p in enumerate(op.parameter_specs.parameters):
            try:
                kind = ParameterType.parse(int(p.parameter_type))
            except InvalidSearchSpaceError:
                raise InvalidSearchSpaceError(
                    f"nasConfig.operations[{i}].parameters[{j}] ({p.name}): parameterType is "
                    "missing or unknown"
                ) from None
            fs = p.feasible_space
            params.append(ParameterSpec(p.name, kind, fs.min, fs.max, fs.step, tuple(fs.list)))
        operations.append(OperationSpec(op.operation_type, tuple(params)))
    return NasConfig(
        GraphConfig(int(graph.num_layers), tuple(graph.input_sizes), tuple(graph.output_sizes)),
        tuple(operations),
    )


def trials_from_proto(trials: Iterable[pb.Trial]) -> list[TrialRecord]:
    records = []
    for trial in trials:
        status = trial.status
        records.append(
            TrialRecord(
                name=trial.name,
                condition=Condition.from_number(int(status.condition)),
                assignments={a.name: a.value for a in trial.spec.parameter_assignments.assignments},
                metrics={m.name: m.value for m in status.observation.metrics},
                completion_time=status.completion_time,
            )
        )
    return records


def reply_from_assignments(
    assignments: Sequence[dict[str, str]], settings: Iterable[tuple[str, str]]
) -> pb.GetSuggestionsReply:
    return pb.GetSuggestionsReply(
        parameter_assignments=[
            pb.GetSuggestionsReply.ParameterAssignments(
                assignments=[pb.ParameterAssignment(name=k, value=v) for k, v in one.items()]
            )
            for one in assignments
        ],
        algorithm=pb.AlgorithmSpec(
            algorithm_settings=[pb.AlgorithmSetting(name=k, value=v) for k, v in settings]
        ),
    )


def start_times_from_proto(trials: Iterable[pb.Trial]) -> dict[str, str]:
    """Each trial's start time (RFC3339, as Katib sends it): only the live report shows it,
    so it is read when a page is built, not on every call."""
    return {trial.name: trial.status.start_time for trial in trials}
