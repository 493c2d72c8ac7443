"""Katib's side of the Suggestion API: an Experiment and its trials as protobuf requests.

Katib's controller builds `GetSuggestionsRequest` from its Experiment and Trial objects: the
experiment spec with the algorithm settings the service echoed back, and every trial except the
MetricsUnavailable ones, each with its latest condition and one value per metric chosen by
`metricStrategies`. This module does the same from our loaded Experiment and the run store; it
is the only place in local mode that builds protobuf messages for the suggestion service.
"""

from __future__ import annotations

from collections.abc import Sequence

from katib_enas.core.katib import Condition, pick
from katib_enas.core.spaces.operations import ParameterSpec
from katib_enas.experiment import Experiment
from katib_enas.katib_api import pb
from katib_enas.local.store import StoredTrial


def merged_settings(
    experiment: Experiment, echoed: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The experiment's settings with the service's echoed ones replacing or adding keys."""
    settings = dict(experiment.algorithm.settings)
    settings.update(dict(echoed))
    return list(settings.items())


def experiment_message(
    experiment: Experiment, echoed: Sequence[tuple[str, str]] = ()
) -> pb.Experiment:
    """`api.v1.beta1.Experiment` for our loaded Experiment."""
    spec = pb.ExperimentSpec(
        objective=_objective(experiment),
        algorithm=pb.AlgorithmSpec(
            algorithm_name=experiment.algorithm.name,
            algorithm_settings=[
                pb.AlgorithmSetting(name=k, value=v) for k, v in merged_settings(experiment, echoed)
            ],
        ),
        parallel_trial_count=experiment.parallel_trial_count,
        max_trial_count=experiment.max_trial_count or 0,
    )
    if experiment.early_stopping is not None:
        spec.early_stopping.CopyFrom(
            pb.EarlyStoppingSpec(
                algorithm_name=experiment.early_stopping.name,
                algorithm_settings=[
                    pb.EarlyStoppingSetting(name=k, value=v)
                    for k, v in experiment.early_stopping.settings
                ],
            )
        )
    spec.parameter_specs.parameters.extend(_parameter(p) for p in experiment.parameters)
    nas = experiment.nas_config
    if nas is not None:
        spec.nas_config.graph_config.num_layers = nas.graph.num_layers
        spec.nas_config.graph_config.input_sizes.extend(nas.graph.input_sizes)
        spec.nas_config.graph_config.output_sizes.extend(nas.graph.output_sizes)
        for op in nas.operations:
            message = spec.nas_config.operations.operation.add(operation_type=op.operation_type)
            message.parameter_specs.parameters.extend(_parameter(p) for p in op.parameters)
    return pb.Experiment(name=experiment.name, spec=spec)


def trial_message(experiment: Experiment, trial: StoredTrial) -> pb.Trial:
    """`api.v1.beta1.Trial` as Katib sends it: latest condition, strategy-picked metrics."""
    message = pb.Trial(
        name=trial.name,
        spec=pb.TrialSpec(
            objective=_objective(experiment),
            parameter_assignments=pb.TrialSpec.ParameterAssignments(
                assignments=[pb.ParameterAssignment(name=k, value=v) for k, v in trial.assignments]
            ),
            labels=trial.labels,
        ),
        status=pb.TrialStatus(
            start_time=trial.start_time or "",
            completion_time=trial.completion_time or "",
            # Our Condition numbers are the proto's.
            condition=pb.TrialStatus.TrialConditionType.ValueType(trial.condition),
        ),
    )
    objective = experiment.objective
    for name in objective.metric_names:
        summary = trial.observation.get(name)
        if summary is None:
            continue
        value = pick(summary, objective.strategy(name))
        message.status.observation.metrics.add(name=name, value=value)
    return message


def suggestions_request(
    experiment: Experiment,
    trials: Sequence[StoredTrial],
    *,
    current: int,
    total: int,
    echoed: Sequence[tuple[str, str]] = (),
) -> pb.GetSuggestionsRequest:
    """`GetSuggestionsRequest` for `current` new assignments, `total` requested in all."""
    return pb.GetSuggestionsRequest(
        experiment=experiment_message(experiment, echoed),
        trials=[
            trial_message(experiment, t)
            for t in trials
            if t.condition is not Condition.METRICSUNAVAILABLE
        ],
        current_request_number=current,
        total_request_number=total,
    )


def _objective(experiment: Experiment) -> pb.ObjectiveSpec:
    objective = experiment.objective
    return pb.ObjectiveSpec(
        type=pb.MAXIMIZE if objective.maximize else pb.MINIMIZE,
        goal=objective.goal if objective.goal is not None else 0.0,
        objective_metric_name=objective.metric_name,
        additional_metric_names=list(objective.additional_metric_names),
    )


def _parameter(spec: ParameterSpec) -> pb.ParameterSpec:
    return pb.ParameterSpec(
        name=spec.name,
        parameter_type=pb.ParameterType.ValueType(spec.type.value),
        feasible_space=pb.FeasibleSpace(
            min=spec.min, max=spec.max, step=spec.step, list=list(spec.values)
        ),
    )
