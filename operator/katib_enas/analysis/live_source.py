"""What a running suggestion service has seen of an experiment, as an `ExperimentRecord`.

Katib sends every trial (assignments, latest condition, each metric's value by the Experiment's
metric strategy, start and completion times) in each `GetSuggestions` call; the controller's
updates come from the strategy's own history. So the service can show the same report as a
local run, with no Kubernetes access: this module turns its view into the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from katib_enas.analysis.records import (
    ExperimentRecord,
    TrialRow,
    number,
    parameter_count,
    seconds,
)
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import SUCCEEDED_LIKE
from katib_enas.core.settings import parse_settings
from katib_enas.core.spaces import parse_space
from katib_enas.core.trials import TrialRecord
from katib_enas.core.updates import ControllerUpdate
from katib_enas.service.convert import ExperimentInput

LIVE_NOTE = (
    "live view from the suggestion service: trials as Katib last sent them, the controller's "
    "updates since this service started (a restart without a volume learns the history again)"
)


def record_from_service(
    experiment: ExperimentInput,
    trials: Sequence[TrialRecord],
    start_times: Mapping[str, str],
    controller: Sequence[ControllerUpdate],
    *,
    source: str,
) -> ExperimentRecord:
    """The record of what the service saw; `source` says where (shown in the report)."""
    rows = tuple(
        _row(index, t, start_times.get(t.name, ""), experiment)
        for index, t in enumerate(trials, start=1)
    )
    return ExperimentRecord(
        name=experiment.name,
        namespace="",
        source=source,
        status="Running",
        reason="live: Katib has no 'search done' call, so the service cannot tell",
        objective=experiment.objective,
        settings=_settings(experiment),
        trials=rows,
        controller=tuple(controller),
        notes=(LIVE_NOTE,),
    )


def _row(seq: int, trial: TrialRecord, started: str, experiment: ExperimentInput) -> TrialRow:
    metrics = {name: number(value) for name, value in trial.metrics.items()}
    value = metrics.get(experiment.objective.metric_name)
    scored = trial.condition in SUCCEEDED_LIKE and isinstance(value, float)
    return TrialRow(
        name=trial.name,
        seq=seq,  # Katib sends trials in creation order
        condition=trial.condition,
        objective=value if scored and isinstance(value, float) else None,
        metrics=metrics,
        start_time=started or None,
        completion_time=trial.completion_time or None,
        seconds=seconds(started, trial.completion_time),
        parameters=parameter_count(metrics, trial.assignments),
        assignments=dict(trial.assignments),
        message="",
    )


def _settings(experiment: ExperimentInput) -> dict[str, str]:
    objective = experiment.objective
    graph = experiment.nas.graph
    rows = {
        "objective": f"{objective.type.value} {objective.metric_name}"
        + (f", goal {objective.goal}" if objective.goal is not None else ""),
        "other metrics": ", ".join(objective.additional_metric_names) or "-",
        "algorithm": experiment.algorithm,
        "algorithm settings": ", ".join(f"{k}={v}" for k, v in experiment.settings) or "defaults",
        "trials": f"max {experiment.max_trial_count or '-'}",
        "graph": f"{graph.num_layers} layers, input {list(graph.input_sizes)}, "
        f"output {list(graph.output_sizes)}",
    }
    try:
        space = parse_space(experiment.nas, parse_settings(experiment.settings, experiment.name))
        rows["search space"] = space.summary()
    except KatibEnasError:
        pass  # the service refused it already; the report still shows the trials
    return rows
