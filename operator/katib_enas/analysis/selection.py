"""Which trial or derived architecture a command works on: `--trial NAME`, `--derived RANK`
(from `derived.json`, written by `katib-enas derive`) or the best trial."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from katib_enas.analysis.records import ExperimentRecord, TrialRow
from katib_enas.core.errors import KatibEnasError
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
