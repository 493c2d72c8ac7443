"""What a run found, read from its store: counts, the best trial, its architecture in words.

`katib-enas run` prints this at the end and writes it into the run directory (`summary.txt`,
`best-trial.json`); `katib-enas status RUN_DIR` prints the same thing later from the database.

After an interruption the store keeps the interrupted trials Running (that is how `--resume`
knows to run them again), but they are dead: the summary shows them as Killed, says why, and
prints the exact command that carries on.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from katib_enas.atomic import write_atomic
from katib_enas.core.katib import (
    ACTIVE,
    SUCCEEDED_LIKE,
    Condition,
    Objective,
    no_best,
    parse_time,
    pick,
)
from katib_enas.core.sharing.reference import SHARED_SCORE_NOTE, shares_weights
from katib_enas.core.spaces import describe
from katib_enas.core.trials import parse_metric
from katib_enas.local.derived_file import DerivedEntry
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
# Metrics enas-trial reports beside the objective (enas_trial.reporting).
PARAMETER_COUNT = "Parameter-Count"
TEST_ACCURACY = "Test-Accuracy"
INTERRUPTED = "Interrupted"  # the run's status after Ctrl-C or SIGTERM
INTERRUPTED_NOTE = "interrupted; --resume runs it again"


@dataclass(frozen=True)
class RunSummary:
    """The state of a run at one moment."""

    experiment: str
    status: str
    reason: str
    counts: dict[str, int]  # by Katib's spelling of the condition
    best: StoredTrial | None
    trials: tuple[StoredTrial, ...]
    # The commands that go on from here (empty: not known, e.g. in a test without a run dir).
    resume_command: str = ""
    retrain_command: str = ""
    # With weight sharing: the scores only rank, `derive` picks; its ranking once it ran.
    derive_command: str = ""
    derived: tuple[DerivedEntry, ...] = ()


def best_trial(trials: Sequence[StoredTrial], objective: Objective) -> StoredTrial | None:
    """The trial with the best objective value, as Katib's `currentOptimalTrial`: among the
    trials that finished with an observation, Succeeded or EarlyStopped. On ties the one with
    fewer parameters (Katib takes the earliest; equal accuracy should not cost size), then the
    earliest; the report ranks the same way."""
    best: StoredTrial | None = None
    for trial in trials:
        if trial.condition not in SUCCEEDED_LIKE or trial.objective is None:
            continue
        if (
            best is None
            or objective.better(trial.objective, best.objective)
            or (trial.objective == best.objective and _smaller(trial, best, objective))
        ):
            best = trial
    return best


def metric_value(trial: StoredTrial, name: str, objective: Objective) -> float | None:
    """A metric the trial reported, by the Experiment's metric strategy, as a number."""
    values = trial.observation.get(name)
    return None if values is None else parse_metric(pick(values, objective.strategy(name)))


def _smaller(trial: StoredTrial, than: StoredTrial, objective: Objective) -> bool:
    size = metric_value(trial, PARAMETER_COUNT, objective)
    other = metric_value(than, PARAMETER_COUNT, objective)
    return size is not None and (other is None or size < other)


def summarize_run(  # noqa: PLR0917
    experiment: str,
    status: str,
    reason: str,
    trials: Sequence[StoredTrial],
    objective: Objective,
    run_dir: str = "",
    resume_command: str = "",
    derived: Sequence[DerivedEntry] = (),
) -> RunSummary:
    shown = [as_shown(t, status) for t in trials]
    counts = Counter(t.condition.katib_name for t in shown)
    best = best_trial(shown, objective)
    shared = best is not None and shares_weights(best.assignment_dict)
    return RunSummary(
        experiment,
        status,
        reason,
        dict(counts),
        best,
        tuple(shown),
        resume_command if status == INTERRUPTED else "",
        f"katib-enas retrain {run_dir} --trial {best.name}"
        if run_dir and best and not shared
        else "",
        f"katib-enas derive {run_dir}" if run_dir and shared else "",
        tuple(derived),
    )


def as_shown(trial: StoredTrial, run_status: str) -> StoredTrial:
    """A trial as people should read it: after an interruption an unfinished trial is dead,
    so Killed (the store keeps it Running for `--resume`)."""
    if run_status != INTERRUPTED or trial.condition not in ACTIVE:
        return trial
    return replace(trial, condition=Condition.KILLED, message=INTERRUPTED_NOTE)


def render(summary: RunSummary, console: Console, *, objective: Objective) -> None:
    """Print the summary table and the best trial."""
    counts = ", ".join(
        f"{summary.counts[c.katib_name]} {condition_words(c)}"
        for c in CONDITION_ORDER
        if summary.counts.get(c.katib_name)
    )
    console.print(
        f"[bold]{summary.experiment}[/bold]: {summary.status}"
        + (f" ({summary.reason})" if summary.reason else "")
        + f"; {len(summary.trials)} trial{'' if len(summary.trials) == 1 else 's'}: "
        + (counts or "none")
    )
    # No vertical rules and no outer padding: the whole table fits 60 columns with its values.
    table = Table(show_lines=False, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("#", justify="right", no_wrap=True)
    # Names and conditions are what people grep and copy: never cut or wrapped, whatever the
    # width (a pipe or a file gets 80 columns); the note wraps instead.
    table.add_column("trial", no_wrap=True, min_width=_widest(t.name for t in summary.trials))
    table.add_column(
        "condition",
        no_wrap=True,
        min_width=_widest(t.condition.katib_name for t in summary.trials),
    )
    # Values are what the table is for: never squeezed to `0.…` on a narrow terminal.
    table.add_column(objective.metric_name, justify="right", min_width=len("0.0000"))
    tests = [metric_value(t, TEST_ACCURACY, objective) for t in summary.trials]
    with_test = any(v is not None for v in tests)
    if with_test:
        table.add_column(TEST_ACCURACY, justify="right", min_width=len("0.0000"))
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("note")
    for trial, test in zip(summary.trials, tests, strict=True):
        mark = "*" if summary.best is not None and trial.name == summary.best.name else ""
        value = "" if trial.objective is None else f"{trial.objective:.4f}"
        table.add_row(
            f"{trial.seq}{mark}",
            trial.name,
            trial.condition.katib_name,
            value,
            *([_number(test)] if with_test else []),
            _seconds(trial),
            trial.message,
        )
    console.print(table)
    if summary.best is None:
        console.print(no_best(summary.status))
    else:
        best = summary.best
        console.print(
            f"best trial (*): {best.name}, {objective.metric_name} = {best.objective:.4f}"
            if best.objective is not None
            else f"best trial: {best.name}",
            markup=False,
        )
        tied = [
            t
            for t in summary.trials
            if t.condition in SUCCEEDED_LIKE and t.objective == best.objective
        ]
        if len(tied) > 1:
            console.print(
                f"  ({len(tied)} trials tie at this value: the one with the fewest parameters "
                "is named)",
                markup=False,
            )
        for line in describe(best.assignment_dict):
            console.print("  " + line, markup=False, soft_wrap=True)
    if summary.retrain_command and not summary.resume_command:
        console.print("retrain it from scratch and save the model:", markup=False)
        console.print(f"  {summary.retrain_command}", markup=False, soft_wrap=True)
    if summary.derive_command or summary.derived:
        _render_sharing(summary, console)
    if summary.resume_command:
        console.print("the run was interrupted; carry on with:", markup=False)
        console.print(f"  {summary.resume_command}", markup=False, soft_wrap=True)


def _render_sharing(summary: RunSummary, console: Console) -> None:
    """A weight-sharing run: what its scores are, and `derive` rather than `retrain --trial`."""
    console.print(f"note: {SHARED_SCORE_NOTE}", markup=False, soft_wrap=True)
    if summary.derived:
        console.print("derived architectures (derived.json), best first:", markup=False)
        for entry in summary.derived[:3]:
            score = "" if entry.score is None else f" {entry.score_name} {entry.score:.4f}:"
            console.print(
                f"  #{entry.rank}{score} {'; '.join(entry.layers)}", markup=False, soft_wrap=True
            )
    elif summary.derive_command and not summary.resume_command:
        console.print("rank the trained controller's best architectures:", markup=False)
        console.print(f"  {summary.derive_command}", markup=False, soft_wrap=True)
    if summary.derive_command and not summary.resume_command:
        run_dir = summary.derive_command.removeprefix("katib-enas derive ")
        console.print("then retrain the first from scratch:", markup=False)
        console.print(f"  katib-enas retrain {run_dir} --derived 1", markup=False, soft_wrap=True)


def condition_words(condition: Condition) -> str:
    """`metrics unavailable`, `early stopped`: Katib's names as words in a sentence."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", condition.katib_name).lower()


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
            "observation": numeric_observation(best.observation),
            "assignments": best.assignment_dict,
            "layers": describe(best.assignment_dict),
        }
    return document


def console_for() -> Console:
    """Stdout's console: on a terminal, its width; in a pipe or file, wide enough that rows do
    not wrap (scripts and logs read whole lines)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def numeric_observation(
    observation: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, float | str]]:
    """Katib keeps metric values as strings; files people load get numbers (a value that is
    not one, such as `unavailable`, stays as it is)."""
    return {
        name: {key: to_number(value) for key, value in values.items()}
        for name, values in observation.items()
    }


def to_number(text: str) -> float | str:
    value = parse_metric(text)
    return text if value is None else value


def write_results(run_dir: Path, summary: RunSummary, objective: Objective) -> None:
    """`best-trial.json` and `summary.txt`, each replaced atomically."""
    document = best_trial_document(summary, objective)
    write_atomic(run_dir / "best-trial.json", json.dumps(document, indent=2) + "\n")
    console = Console(record=True, width=120, file=open(os.devnull, "w"))  # noqa: SIM115
    render(summary, console, objective=objective)
    write_atomic(run_dir / "summary.txt", console.export_text())
    console.file.close()


def trial_seconds(trial: StoredTrial) -> float | None:
    """Wall seconds from start to completion (None until both are known)."""
    if not trial.start_time or not trial.completion_time:
        return None
    delta = parse_time(trial.completion_time) - parse_time(trial.start_time)
    return delta.total_seconds()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _seconds(trial: StoredTrial) -> str:
    seconds = trial_seconds(trial)
    return "" if seconds is None else f"{seconds:.1f}"


def _widest(texts: Iterable[str]) -> int:
    return max((len(text) for text in texts), default=0)
