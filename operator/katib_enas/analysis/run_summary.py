"""A local run's summary for people: counts, the trials, the best one in words, what to do next.

`katib-enas run` prints it at the end and writes it into the run directory (`summary.txt`,
`best-trial.json`); `katib-enas status RUN_DIR` prints the same thing later. It is a view of the
run's `ExperimentRecord` (`local_source`), the one model of a run every output reads, so the
table, `status --output`, `trials.json` and the report name the same best trial.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from enas_trial.reporting import TEST_ACCURACY
from katib_enas.analysis.records import ExperimentRecord, TrialRow, elapsed
from katib_enas.atomic import write_atomic
from katib_enas.core.katib import Condition, no_best
from katib_enas.core.sharing.reference import SHARED_SCORE_NOTE, shares_weights
from katib_enas.core.trials import parse_metric
from katib_enas.experiment import optimal
from katib_enas.local.results import INTERRUPTED

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
    """A run's record and the commands that go on from it (empty: not known, e.g. in a test
    without a run directory)."""

    record: ExperimentRecord
    resume_command: str = ""
    retrain_command: str = ""
    # With weight sharing: the scores only rank, `derive` picks; its ranking once it ran.
    derive_command: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Trials by Katib's spelling of their condition."""
        return dict(Counter(t.condition.katib_name for t in self.record.trials))


def summarize(record: ExperimentRecord, run_dir: Path | None = None) -> RunSummary:
    """The summary of a local run read from `run_dir` (its commands name that directory)."""
    best = record.best
    shared = best is not None and shares_weights(best.assignments)
    quoted = shlex.quote(str(run_dir)) if run_dir is not None else ""
    return RunSummary(
        record,
        record.resume_command if record.status == INTERRUPTED else "",
        f"katib-enas retrain {quoted} --trial {best.name}"
        if quoted and best and not shared
        else "",
        f"katib-enas derive {quoted}" if quoted and shared else "",
    )


def render(summary: RunSummary, console: Console) -> None:
    """Print the summary table and the best trial."""
    record = summary.record
    trials = record.trials
    counts = ", ".join(
        f"{summary.counts[c.katib_name]} {condition_words(c)}"
        for c in CONDITION_ORDER
        if summary.counts.get(c.katib_name)
    )
    console.print(
        f"[bold]{record.name}[/bold]: {record.status}"
        + (f" ({record.reason})" if record.reason else "")
        + f"; {len(trials)} trial{'' if len(trials) == 1 else 's'}: "
        + (counts or "none")
    )
    console.print(_table(record))
    best = record.best
    if best is None:
        console.print(no_best(record.status))
    else:
        _render_best(record, best, console)
    if summary.retrain_command and not summary.resume_command:
        console.print("retrain it from scratch and save the model:", markup=False)
        console.print(f"  {summary.retrain_command}", markup=False, soft_wrap=True)
    if summary.derive_command or record.derived:
        _render_sharing(summary, console)
    if summary.resume_command:
        console.print("the run was interrupted; carry on with:", markup=False)
        console.print(f"  {summary.resume_command}", markup=False, soft_wrap=True)


def _table(record: ExperimentRecord) -> Table:
    trials = record.trials
    best = record.best
    # No vertical rules and no outer padding: the whole table fits 60 columns with its values.
    table = Table(show_lines=False, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("#", justify="right", no_wrap=True)
    # Names and conditions are what people grep and copy: never cut or wrapped, whatever the
    # width (a pipe or a file gets 80 columns); the note wraps instead.
    table.add_column("trial", no_wrap=True, min_width=_widest(t.name for t in trials))
    table.add_column(
        "condition", no_wrap=True, min_width=_widest(t.condition.katib_name for t in trials)
    )
    # Values are what the table is for: never squeezed to `0.…` on a narrow terminal.
    table.add_column(record.objective.metric_name, justify="right", min_width=len("0.0000"))
    with_test = any(t.test_accuracy is not None for t in trials)
    if with_test:
        table.add_column(TEST_ACCURACY, justify="right", min_width=len("0.0000"))
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("note")
    for trial in trials:
        mark = "*" if best is not None and trial.name == best.name else ""
        table.add_row(
            f"{trial.seq}{mark}",
            trial.name,
            trial.condition.katib_name,
            _number(trial.objective),
            *([_number(trial.test_accuracy)] if with_test else []),
            _seconds(trial),
            trial.message,
        )
    return table


def _render_best(record: ExperimentRecord, best: TrialRow, console: Console) -> None:
    metric = record.objective.metric_name
    console.print(
        f"best trial (*): {best.name}, {metric} = {best.objective:.4f}"
        if best.objective is not None
        else f"best trial: {best.name}",
        markup=False,
    )
    tied = [t for t in record.trials if optimal.counts(t) and t.objective == best.objective]
    if len(tied) > 1:
        console.print(
            f"  ({len(tied)} trials tie at this value: the one with the fewest parameters "
            "is named)",
            markup=False,
        )
    for line in best.layers:
        console.print("  " + line, markup=False, soft_wrap=True)


def _render_sharing(summary: RunSummary, console: Console) -> None:
    """A weight-sharing run: what its scores are, and `derive` rather than `retrain --trial`."""
    console.print(f"note: {SHARED_SCORE_NOTE}", markup=False, soft_wrap=True)
    derived = summary.record.derived
    if derived:
        console.print("derived architectures (derived.json), best first:", markup=False)
        for entry in derived[:3]:
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


def best_trial_document(summary: RunSummary) -> dict[str, object]:
    """The content of `best-trial.json`."""
    record = summary.record
    best = record.best
    document: dict[str, object] = {
        "experiment": record.name,
        "status": record.status,
        "reason": record.reason,
        "objective": {"metric": record.objective.metric_name, "type": record.objective.type.value},
        "counts": summary.counts,
    }
    if best is not None:
        document["best_trial"] = {
            "name": best.name,
            "objective_value": best.objective,
            "observation": numeric_observation(best.observation),
            "assignments": best.assignments,
            "layers": best.layers,
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
        name: {key: _to_number(value) for key, value in values.items()}
        for name, values in observation.items()
    }


def _to_number(text: str) -> float | str:
    value = parse_metric(text)
    return text if value is None else value


def write_results(run_dir: Path, summary: RunSummary) -> None:
    """`best-trial.json` and `summary.txt`, each replaced atomically."""
    document = best_trial_document(summary)
    write_atomic(run_dir / "best-trial.json", json.dumps(document, indent=2) + "\n")
    console = Console(record=True, width=120, file=open(os.devnull, "w"))  # noqa: SIM115
    render(summary, console)
    write_atomic(run_dir / "summary.txt", console.export_text())
    console.file.close()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _seconds(trial: TrialRow) -> str:
    seconds = elapsed(trial.start_time, trial.completion_time)  # not the row's rounded seconds
    return "" if seconds is None else f"{seconds:.1f}"


def _widest(texts: Iterable[str]) -> int:
    return max((len(text) for text in texts), default=0)
