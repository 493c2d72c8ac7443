"""Which trial or derived architecture a command works on: `--trial NAME`, `--derived RANK`
(from `derived.json`, written by `katib-enas derive`), the smallest trial `--within` a
tolerance of the best (`katib-enas pick`), or the best trial."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from katib_enas.analysis.records import ExperimentRecord, TrialRow
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Objective
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.local.rundir import DERIVED_FILE


class SelectionError(KatibEnasError):
    """The trial or derived architecture asked for does not exist."""


@dataclass(frozen=True)
class Chosen:
    """An architecture to retrain: a name for files and Jobs, and its assignments."""

    label: str  # the trial's name, or `derived-<rank>`
    assignments: dict[str, str]


def choose_trial(record: ExperimentRecord, name: str | None) -> TrialRow:
    if name is not None:
        trial = record.trial(name)
        if trial is None:
            raise SelectionError(f"--trial: no trial named {name!r} in {record.source}")
        if ARCHITECTURE not in trial.assignments or NN_CONFIG not in trial.assignments:
            raise SelectionError(f"--trial: trial {name!r} has no architecture assignments")
        return trial
    best = record.best
    if best is None:
        raise SelectionError(
            f"no trial of {record.source} succeeded yet: name one with --trial NAME"
        )
    return best


def choose(record: ExperimentRecord, run_dir: Path, trial: str | None, rank: int | None) -> Chosen:
    """`--derived RANK` from the run's `derived.json`, else `choose_trial`."""
    if rank is None:
        chosen = choose_trial(record, trial)
        return Chosen(chosen.name, chosen.assignments)
    path = run_dir / DERIVED_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SelectionError(
            f"--derived: {path} does not exist (run `katib-enas derive {run_dir}` first)"
        ) from None
    except (OSError, json.JSONDecodeError) as error:
        raise SelectionError(f"--derived: {path} cannot be read ({error})") from None
    entries = document.get("derived") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("rank") == rank:
            if not isinstance(entry.get("architecture"), str) or not isinstance(
                entry.get("nn_config"), str
            ):
                raise SelectionError(f"--derived: rank {rank} in {path} has no architecture")
            return Chosen(
                f"derived-{rank}",
                {ARCHITECTURE: entry["architecture"], NN_CONFIG: entry["nn_config"]},
            )
    ranks = [e.get("rank") for e in entries or () if isinstance(e, dict)]
    raise SelectionError(
        f"--derived: no rank {rank} in {path} (ranks: {', '.join(map(str, ranks)) or 'none'})"
    )


@dataclass(frozen=True)
class Tolerance:
    """How far below the best (above, when minimising) a choice may be: in the metric's own
    units (`0.005`), or a share of the best value (`0.5%`)."""

    amount: float
    relative: bool
    text: str  # as the user wrote it

    def margin(self, best: float) -> float:
        return abs(best) * self.amount / 100 if self.relative else self.amount

    def allows(self, value: float, best: float, objective: Objective) -> bool:
        margin = self.margin(best) + 1e-12  # a value printed as exactly the margin is in
        return value >= best - margin if objective.maximize else value <= best + margin


def parse_within(text: str) -> Tolerance:
    """`0.005` or `0.5%` (a share of the best value); a clear error naming `--within`."""
    relative = text.strip().endswith("%")
    number = text.strip().removesuffix("%")
    try:
        amount = float(number)
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount) or amount < 0:
        raise SelectionError(
            f"--within: expected a tolerance >= 0 such as 0.005 (in the metric's units) or "
            f"0.5% (of the best value), got {text!r}"
        )
    return Tolerance(amount, relative, text.strip())


def smallest_within(record: ExperimentRecord, tolerance: Tolerance) -> TrialRow:
    """The trial with the fewest parameters whose objective is within `tolerance` of the best
    (the better one on equal sizes); the best itself when no size is known."""
    best = choose_trial(record, None)
    assert best.objective is not None  # `best` has one by definition
    fits = [
        t
        for t in record.ranked()
        if t.parameters is not None
        and tolerance.allows(t.objective or 0.0, best.objective, record.objective)
    ]
    return min(fits, key=lambda t: t.parameters or 0) if fits else best
