"""How a run's stored trials read to people while it runs and after an interruption.

After an interruption the store keeps the interrupted trials Running (that is how `--resume`
knows to run them again), but they are dead: every output shows them as Killed and says why.
The run's summary, tables and files are written from its record (`analysis.run_summary`,
after the runner returns); the progress line ranks stored trials by the same rule
(`experiment.optimal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from enas_trial.reporting import PARAMETER_COUNT
from katib_enas.core.katib import ACTIVE, Condition, Objective, pick
from katib_enas.core.trials import parse_metric
from katib_enas.experiment import optimal
from katib_enas.local.store import StoredTrial

INTERRUPTED = "Interrupted"  # the run's status after Ctrl-C or SIGTERM
INTERRUPTED_NOTE = "interrupted; --resume runs it again"
RESUME_KEY = "resume_command"  # meta key: the command `status` prints after an interruption


def best_trial(trials: Sequence[StoredTrial], objective: Objective) -> StoredTrial | None:
    """The best trial by `experiment.optimal`'s rule, sizes from the reported
    `Parameter-Count` (the progress line plans no networks)."""
    return optimal.optimal(trials, objective, lambda t: metric_value(t, PARAMETER_COUNT, objective))


def metric_value(trial: StoredTrial, name: str, objective: Objective) -> float | None:
    """A metric the trial reported, by the Experiment's metric strategy, as a number."""
    values = trial.observation.get(name)
    return None if values is None else parse_metric(pick(values, objective.strategy(name)))


def as_shown(trial: StoredTrial, run_status: str) -> StoredTrial:
    """A trial as people should read it: after an interruption an unfinished trial is dead,
    so Killed (the store keeps it Running for `--resume`)."""
    if run_status != INTERRUPTED or trial.condition not in ACTIVE:
        return trial
    return replace(trial, condition=Condition.KILLED, message=INTERRUPTED_NOTE)
