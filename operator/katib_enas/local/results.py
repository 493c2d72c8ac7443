"""What a run found, read from its store: counts, the best trial, its architecture in words.

`katib-enas run` prints this at the end and writes it into the run directory (`summary.txt`,
`best-trial.json`); `katib-enas status RUN_DIR` prints the same thing later from the database.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from katib_enas.atomic import write_atomic
from katib_enas.core.katib import SUCCEEDED_LIKE, Condition, Objective, parse_time
from katib_enas.core.spaces import describe
from katib_enas.local.store import StoredTrial

# The order the summary line counts conditions in.
CONDITION_ORDER = (
    Condition.CREATED,
    Condition.RUNNING,
    Condition.SUCCEEDED,
    Condition.FAILED,
    Condition.METRICSUNAVAILABLE,
    Condition.KILLED,
    Condition.EARLYSTOPPED,
)


@dataclass(frozen=True)
class RunSummary:
    """The state of a run at one moment."""

    experiment: str
    status: str
    reason: str
    counts: dict[str, int]  # by Katib's spelling of the condition
    best: StoredTrial | None
    trials: tuple[StoredTrial, ...]


def best_trial(trials: Sequence[StoredTrial], objective: Objective) -> StoredTrial | None:
    """The trial with the best objective value (earliest on ties), as Katib's
    `currentOptimalTrial`: among the trials that finished with an observation, Succeeded or
    EarlyStopped."""
    best: StoredTrial | None = None
    for trial in trials:
        if trial.condition not in SUCCEEDED_LIKE or trial.objective is None:
            continue
        if best is None or objective.better(trial.objective, best.objective):
            best = trial
    return best


def summarize_run(
    experiment: str, status: str, reason: str, trials: Sequence[StoredTrial], objective: Objective
) -> RunSummary:
    counts = Counter(t.condition.katib_name for t in trials)
    return RunSummary(
        experiment,
        status,
        reason,
        dict(counts),
        best_trial(trials, objective),
        tuple(trials),
    )


def render(summary: RunSummary, console: Console, *, objective: Objective) -> None:
    """Print the summary table and the best trial."""
    counts = ", ".join(
        f"{summary.counts[c.katib_name]} {c.katib_name.lower()}"
        for c in CONDITION_ORDER
        if summary.counts.get(c.katib_name)
    )
    console.print(
        f"[bold]{summary.experiment}[/bold]: {summary.status}"
        + (f" ({summary.reason})" if summary.reason else "")
        + f"; {len(summary.trials)} trial(s): {counts or 'none'}"
    )
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("trial")
    table.add_column("condition")
    table.add_column(objective.metric_name, justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("note")
    for trial in summary.trials:
        mark = "*" if summary.best is not None and trial.name == summary.best.name else ""
        value = "" if trial.objective is None else f"{trial.objective:.4f}"
        table.add_row(
            f"{trial.seq}{mark}",
            trial.name,
            trial.condition.katib_name,
            value,
            _seconds(trial),
            trial.message,
        )
    console.print(table)
    if summary.best is None:
        console.print("no trial succeeded yet")
        return
    best = summary.best
    console.print(
        f"best trial (*): {best.name}, {objective.metric_name} = {best.objective:.4f}"
        if best.objective is not None
        else f"best trial: {best.name}"
    )
    for line in describe(best.assignment_dict):
        console.print("  " + line, markup=False, soft_wrap=True)


def best_trial_document(summary: RunSummary, objective: Objective) -> dict[str, object]:
    """The content of `best-trial.json`."""
    best = summary.best
    document: dict[str, object] = {
        "experiment": summary.experiment,
        "status": summary.status,
        "reason": summary.reason,
        "objective": {"metric": objective.metric_name, "type": objective.type.value},
        "counts": summary.counts,
    }
    if best is not None:
        document["best_trial"] = {
            "name": best.name,
            "objective_value": best.objective,
            "observation": best.observation,
            "assignments": best.assignment_dict,
            "layers": describe(best.assignment_dict),
        }
    return document


def write_results(run_dir: Path, summary: RunSummary, objective: Objective) -> None:
    """`best-trial.json` and `summary.txt`, each replaced atomically."""
    document = best_trial_document(summary, objective)
    write_atomic(run_dir / "best-trial.json", json.dumps(document, indent=2) + "\n")
    console = Console(record=True, width=120, file=open(os.devnull, "w"))  # noqa: SIM115
    render(summary, console, objective=objective)
    write_atomic(run_dir / "summary.txt", console.export_text())
    console.file.close()


def _seconds(trial: StoredTrial) -> str:
    if not trial.start_time or not trial.completion_time:
        return ""
    delta = parse_time(trial.completion_time) - parse_time(trial.start_time)
    return f"{delta.total_seconds():.1f}"
