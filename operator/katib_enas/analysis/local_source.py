"""A local run directory as an `ExperimentRecord`: its store, its Experiment, its trials' files.

What a local run knows beyond Katib's objects is used: the trials' own durations, the error
line the runner kept, and the in-process controller's update history.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from katib_enas.analysis.records import (
    ExperimentRecord,
    TrialRow,
    curve,
    parameter_count,
    picked_metrics,
    seconds,
)
from katib_enas.analysis.settings import settings_of
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Objective
from katib_enas.experiment import load_experiment
from katib_enas.local.derived_file import read_derived
from katib_enas.local.results import RESUME_KEY, as_shown
from katib_enas.local.rundir import DERIVED_FILE, RunDir
from katib_enas.local.store import Store, StoredTrial

NO_HISTORY = (
    "no controller history: the run used a suggestion service elsewhere "
    "(--suggestion-address), the random strategy, or stopped before the first update"
)


def record_from_run_dir(path: Path, flag: str = "run_dir") -> ExperimentRecord:
    """The run in `path` (a clear error naming `flag` when it holds none)."""
    run_dir = RunDir(path)
    run_dir.require_run(flag)
    experiment = load_experiment(run_dir.experiment_file)
    spec = (yaml.safe_load(run_dir.experiment_file.read_text(encoding="utf-8")) or {}).get("spec")
    try:
        space = experiment.search_space()
        summary = space.summary() if space is not None else ""
    except KatibEnasError:
        summary = ""
    store = Store(run_dir.db)
    try:
        status = store.get_meta("status", "") or ""
        reason = store.get_meta("reason", "") or ""
        resume = store.get_meta(RESUME_KEY, "") or ""
        trials = tuple(_row(as_shown(t, status), experiment.objective) for t in store.trials())
        controller = tuple(store.controller_updates())
        metric = experiment.objective.metric_name
        curves = {t.name: curve([log.value for log in store.logs(t.name, metric)]) for t in trials}
    finally:
        store.close()
    return ExperimentRecord(
        name=experiment.name,
        namespace=experiment.namespace,
        source=f"local run {path}",
        status=status,
        reason=reason,
        objective=experiment.objective,
        settings=settings_of(spec if isinstance(spec, dict) else {}, summary),
        trials=trials,
        controller=controller,
        notes=() if controller else (NO_HISTORY,),
        derived=tuple(read_derived(path / DERIVED_FILE)),
        curves={name: values for name, values in curves.items() if values},
        resume_command=resume,
    )


def _row(trial: StoredTrial, objective: Objective) -> TrialRow:
    metrics = picked_metrics(trial.observation, objective)
    return TrialRow(
        name=trial.name,
        seq=trial.seq,
        condition=trial.condition,
        objective=trial.objective,
        metrics=metrics,
        start_time=trial.start_time,
        completion_time=trial.completion_time,
        seconds=seconds(trial.start_time, trial.completion_time),
        parameters=parameter_count(metrics, trial.assignment_dict),
        assignments=trial.assignment_dict,
        message=trial.message,
        observation=trial.observation,
    )
