"""The suggestion service's protobuf boundary: Katib requests in, domain objects out, and
suggestions back to replies. The servicer and the core never touch `*_pb2` messages; the local
runner, which plays Katib's side, builds its requests in `katib_enas.local.requests`.
Every list and string is checked against `limits` as it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from katib_enas.core.errors import InvalidSearchSpaceError, InvalidSettingsError
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.spaces.operations import (
    MAX_OPERATIONS,
    MAX_PARAMETERS,
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
)
from katib_enas.core.trials import TrialRecord
from katib_enas.katib_api import pb
from katib_enas.service import limits
from katib_enas.service.limits import check_count, check_text


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
    check_text("experiment.name", experiment.name, limits.MAX_NAME_CHARS)
    check_text("algorithm.algorithmName", spec.algorithm.algorithm_name, limits.MAX_NAME_CHARS)
    return ExperimentInput(
        name=experiment.name,
        objective=objective_from_proto(spec.objective),
        settings=settings_from_proto(spec.algorithm.algorithm_settings),
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
    check_text(
        "objective.objectiveMetricName", objective.objective_metric_name, limits.MAX_NAME_CHARS
    )
    check_count(
        "objective.additionalMetricNames",
        objective.additional_metric_names,
        limits.MAX_METRIC_NAMES,
    )
    for name in objective.additional_metric_names:
        check_text("objective.additionalMetricNames[]", name, limits.MAX_NAME_CHARS)
    # proto3 `double goal` has no presence: 0 means "no goal" as often as it means 0.
    return Objective(
        kind,
        objective.objective_metric_name,
        objective.goal or None,
        tuple(objective.additional_metric_names),
    )


def settings_from_proto(
    settings: Sequence[pb.AlgorithmSetting],
) -> tuple[tuple[str, str], ...]:
    check_count("algorithm.algorithmSettings", settings, limits.MAX_SETTINGS)
    for s in settings:
        check_text("algorithm.algorithmSettings[].name", s.name, limits.MAX_NAME_CHARS)
        check_text(f"algorithmSettings.{s.name}", s.value, limits.MAX_SHORT_CHARS)
    return tuple((s.name, s.value) for s in settings)


def nas_from_proto(nas: pb.NasConfig) -> NasConfig:
    graph = nas.graph_config
    check_count("nasConfig.graphConfig.inputSizes", graph.input_sizes, limits.MAX_SIZES)
    check_count("nasConfig.graphConfig.outputSizes", graph.output_sizes, limits.MAX_SIZES)
    check_count("nasConfig.operations", nas.operations.operation, MAX_OPERATIONS)
    operations = []
    for i, op in enumerate(nas.operations.operation):
        where = f"nasConfig.operations[{i}]"
        check_text(f"{where}.operationType", op.operation_type, limits.MAX_NAME_CHARS)
        check_count(f"{where}.parameters", op.parameter_specs.parameters, MAX_PARAMETERS)
        params = []
        for j, p in enumerate(op.parameter_specs.parameters):
            check_text(f"{where}.parameters[{j}].name", p.name, limits.MAX_NAME_CHARS)
            fs = p.feasible_space
            check_count(f"{where}.parameters[{j}].feasibleSpace.list", fs.list, MAX_OPERATIONS)
            for value in fs.list:
                check_text(
                    f"{where}.parameters[{j}].feasibleSpace.list[]", value, limits.MAX_SHORT_CHARS
                )
            try:
                kind = ParameterType.parse(int(p.parameter_type))
            except InvalidSearchSpaceError:
                raise InvalidSearchSpaceError(
                    f"nasConfig.operations[{i}].parameters[{j}] ({p.name}): parameterType is "
                    "missing or unknown"
                ) from None
            params.append(ParameterSpec(p.name, kind, fs.min, fs.max, fs.step, tuple(fs.list)))
        operations.append(OperationSpec(op.operation_type, tuple(params)))
    return NasConfig(
        GraphConfig(int(graph.num_layers), tuple(graph.input_sizes), tuple(graph.output_sizes)),
        tuple(operations),
    )


class KnownTrials:
    """One experiment's trials as last converted, so that a call costs only its new or changed
    trials: every call carries the whole history, and reading a trial's assignments and metrics
    out of protobuf is most of what a call with 1,000 trials used to cost.

    A trial is recognised by its name, condition and completion time: Katib never changes a
    finished trial's assignments or observation, and a trial that changed (RUNNING to SUCCEEDED)
    is read again. A running trial's metrics may grow unread, which changes nothing: only
    finished trials are learned from or counted in the best metric. The same record object comes
    back, so the strategy can recognise it too (`core.strategies.history`). Holds the trials of
    the latest call only: bounded by `limits.MAX_TRIALS`. Callers serialise `convert` (the
    session's lock)."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[int, str, TrialRecord]] = {}

    def convert(self, trials: Sequence[pb.Trial]) -> list[TrialRecord]:
        check_count("trials", trials, limits.MAX_TRIALS)
        previous, records = self._records, {}
        converted = []
        for trial in trials:
            name = trial.name
            status = trial.status
            condition, completed = int(status.condition), status.completion_time
            known = previous.get(name)
            if known is not None and known[0] == condition and known[1] == completed:
                record = known[2]
            else:
                record = trial_from_proto(trial)
            if name in records:  # a name sent twice (never by Katib): each is read as sent
                record = trial_from_proto(trial)
            else:
                records[name] = (condition, completed, record)
            converted.append(record)
        self._records = records
        return converted


def trial_from_proto(trial: pb.Trial) -> TrialRecord:
    status = trial.status
    assignments = trial.spec.parameter_assignments.assignments
    metrics = status.observation.metrics
    check_text("trials[].name", trial.name, limits.MAX_NAME_CHARS)
    where = f"trial {trial.name!r}"
    check_count(f"{where}: parameterAssignments", assignments, limits.MAX_ASSIGNMENTS)
    for a in assignments:
        check_text(f"{where}: parameterAssignments[].name", a.name, limits.MAX_NAME_CHARS)
        check_text(f"{where}: assignment {a.name!r}", a.value, limits.MAX_ASSIGNMENT_CHARS)
    check_count(f"{where}: observation.metrics", metrics, limits.MAX_METRICS)
    for m in metrics:
        check_text(f"{where}: observation.metrics[].name", m.name, limits.MAX_NAME_CHARS)
        check_text(f"{where}: metric {m.name!r}", m.value, limits.MAX_SHORT_CHARS)
    check_text(f"{where}: completionTime", status.completion_time, limits.MAX_SHORT_CHARS)
    return TrialRecord(
        name=trial.name,
        condition=Condition.from_number(int(status.condition)),
        assignments={a.name: a.value for a in assignments},
        metrics={m.name: m.value for m in metrics},
        completion_time=status.completion_time,
    )


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
