"""One experiment's trials as every output reads them, wherever they ran.

A local run (its SQLite store) and a cluster (Katib's Trial objects) both become an
`ExperimentRecord`; `trials.csv`, `trials.json`, `status --output`, the report and the pictures
are written from it. Values are numbers here (Katib keeps metric values as strings).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from enas_trial.reporting import PARAMETER_COUNT, TEST_ACCURACY
from katib_enas.core.katib import Condition, Objective, parse_time, pick
from katib_enas.core.sharing.reference import shares_weights
from katib_enas.core.spaces import describe, kind_of
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.core.trials import parse_metric
from katib_enas.core.updates import ControllerUpdate
from katib_enas.experiment import optimal
from katib_enas.local.derived_file import DerivedEntry


@dataclass(frozen=True)
class TrialRow:
    """One trial: what it ran, how it ended, what it reported."""

    name: str
    seq: int  # creation order, from 1
    condition: Condition
    objective: float | None
    metrics: dict[str, float | str]  # each metric's value by the Experiment's metric strategy
    start_time: str | None
    completion_time: str | None
    seconds: float | None
    parameters: int | None
    assignments: dict[str, str]
    message: str  # why it failed, was killed or stopped ('' when it succeeded)
    # Each metric's Katib values (min, max, latest) as Katib keeps them, strings (best-trial.json).
    observation: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return self.assignments.get(ARCHITECTURE, "")

    @property
    def nn_config(self) -> str:
        return self.assignments.get(NN_CONFIG, "")

    @property
    def layers(self) -> list[str]:
        return describe(self.assignments)

    @property
    def test_accuracy(self) -> float | None:
        """The held-out accuracy enas-trial reports beside the objective, when it did."""
        value = self.metrics.get(TEST_ACCURACY)
        return value if isinstance(value, float) else None

    @property
    def space_kind(self) -> str:
        kind = kind_of(self.assignments)
        return kind.name if kind is not None else ""


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment and its trials, with the settings the report shows."""

    name: str
    namespace: str
    source: str  # where it was read: a run directory, or `cluster <namespace>/<name>`
    status: str
    reason: str
    objective: Objective
    settings: dict[str, str]  # label -> value, in display order
    trials: tuple[TrialRow, ...]
    controller: tuple[ControllerUpdate, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what is missing and why (no controller history)
    derived: tuple[DerivedEntry, ...] = ()  # a local run's derived.json (`katib-enas derive`)
    # Each trial's objective metric as reported over its training (per epoch for enas-trial),
    # from Katib's observation logs: trial name -> values in report order.
    curves: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    resume_command: str = ""  # a local run: the command that carries on after an interruption

    @property
    def shares_weights(self) -> bool:
        """Whether its trials trained on shared weights (their scores only rank children)."""
        return any(shares_weights(t.assignments) for t in self.trials)

    @property
    def best(self) -> TrialRow | None:
        """Katib's currentOptimalTrial with our tie-break (`experiment.optimal`)."""
        return optimal.optimal(self.trials, self.objective, _size)

    def scored(self) -> list[TrialRow]:
        """Trials with an objective value that counts: Succeeded or EarlyStopped."""
        return [t for t in self.trials if optimal.counts(t)]

    def ranked(self) -> list[TrialRow]:
        """Trials with an objective value that counts, best first (`experiment.optimal`)."""
        return optimal.ranked(self.trials, self.objective, _size)

    def pareto(self) -> list[TrialRow]:
        """The trials no other beats on both the objective and size (fewer parameters), smallest
        first: the choices worth a look when size matters."""
        ranked = [t for t in self.ranked() if t.parameters is not None]
        # By size, the better first among equal sizes (`sorted` is stable).
        sized = sorted(ranked, key=lambda t: t.parameters or 0)
        front: list[TrialRow] = []
        for trial in sized:
            if not front or self.objective.better(trial.objective or 0.0, front[-1].objective):
                front.append(trial)
        return front

    def trial(self, name: str) -> TrialRow | None:
        return next((t for t in self.trials if t.name == name), None)

    def metric_names(self) -> list[str]:
        """Every metric any trial reported, the Experiment's own first."""
        names = dict.fromkeys(self.objective.metric_names)
        for trial in self.trials:
            names.update(dict.fromkeys(trial.metrics))
        return list(names)


def _size(trial: TrialRow) -> float | None:
    return trial.parameters


def number(text: object) -> float | str:
    """A metric value as a number where it is one (Katib's strings, `unavailable` kept)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = parse_metric(str(text))
    return str(text) if value is None else value


def picked_metrics(
    observation: Mapping[str, Mapping[str, str]], objective: Objective
) -> dict[str, float | str]:
    """Each metric's value as Katib shows it (`metricStrategies`), as a number."""
    return {
        name: number(pick(values, objective.strategy(name))) for name, values in observation.items()
    }


def parameter_count(
    metrics: Mapping[str, float | str], assignments: Mapping[str, str]
) -> int | None:
    """The trial's reported `Parameter-Count`, else the count its builder plans (no torch)."""
    reported = metrics.get(PARAMETER_COUNT)
    if isinstance(reported, float):
        return int(reported)
    if ARCHITECTURE not in assignments or NN_CONFIG not in assignments:
        return None
    from enas_trial.builders import builder_for
    from katib_enas.core.errors import KatibEnasError

    try:
        builder = builder_for(assignments[NN_CONFIG])
        return builder.plan(assignments[ARCHITECTURE], assignments[NN_CONFIG]).parameter_count()
    except KatibEnasError:
        return None


# --- trials.json, trials.csv, `status --output json|csv` -------------------------------------
CSV_FIXED = ("seq", "name", "condition", "objective", "seconds", "parameters")
CSV_TAIL = ("start_time", "completion_time", "message", "layers", "architecture", "nn_config")


def trial_document(trial: TrialRow) -> dict[str, Any]:
    return {
        "seq": trial.seq,
        "name": trial.name,
        "condition": trial.condition.katib_name,
        "objective": trial.objective,
        "metrics": trial.metrics,
        "seconds": trial.seconds,
        "parameters": trial.parameters,
        "start_time": trial.start_time,
        "completion_time": trial.completion_time,
        "message": trial.message,
        "layers": trial.layers,
        "assignments": trial.assignments,
    }


def record_document(record: ExperimentRecord) -> dict[str, Any]:
    """`trials.json`: the experiment, its best trial's name and every trial."""
    best = record.best
    return {
        "experiment": record.name,
        "namespace": record.namespace,
        "source": record.source,
        "status": record.status,
        "reason": record.reason,
        "objective": {
            "metric": record.objective.metric_name,
            "type": record.objective.type.value,
            "goal": record.objective.goal,
        },
        "best_trial": best.name if best is not None else None,
        "trials": [trial_document(t) for t in record.trials],
    }


def trials_json(record: ExperimentRecord) -> str:
    return json.dumps(record_document(record), indent=2) + "\n"


def trials_csv(record: ExperimentRecord) -> str:
    """One row per trial; every metric a column of its own, numbers as numbers."""
    metrics = record.metric_names()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_FIXED, *metrics, *CSV_TAIL])
    for t in record.trials:
        writer.writerow(
            [
                t.seq,
                t.name,
                t.condition.katib_name,
                _cell(t.objective),
                _cell(t.seconds),
                _cell(t.parameters),
                *(_cell(t.metrics.get(name)) for name in metrics),
                t.start_time or "",
                t.completion_time or "",
                t.message,
                " | ".join(t.layers),
                t.architecture,
                t.nn_config,
            ]
        )
    return out.getvalue()


def _cell(value: float | int | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def best_so_far(trials: Sequence[TrialRow], objective: Objective) -> list[float | None]:
    """The best objective among the trials up to each one (None before the first value)."""
    best: float | None = None
    out: list[float | None] = []
    for trial in trials:
        if optimal.counts(trial) and objective.better(trial.objective or 0.0, best):
            best = trial.objective
        out.append(best)
    return out


def elapsed(start: str | None, end: str | None) -> float | None:
    """Wall seconds from `start` to `end` (RFC3339); None until both are known and valid."""
    if not start or not end:
        return None
    try:
        return (parse_time(end) - parse_time(start)).total_seconds()
    except ValueError:
        return None


def seconds(start: str | None, end: str | None) -> float | None:
    """`TrialRow.seconds`: `elapsed` to the millisecond."""
    value = elapsed(start, end)
    return None if value is None else round(value, 3)


def curve(values: Sequence[str]) -> tuple[float, ...]:
    """A metric's logged values (Katib's strings) as numbers, skipping those that are none."""
    numbers = (parse_metric(v) for v in values)
    return tuple(v for v in numbers if v is not None)
