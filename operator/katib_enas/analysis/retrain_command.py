"""A trial's `enas-trial` command turned into a retrain command: from scratch, the full
schedule, the model saved.

Shared by `katib-enas retrain` (runs it here) and the cluster retrain Job (`retrain_job`): the
trial template's own command keeps the dataset, batch size and the rest; what made it a search
trial (the epochs, Katib's metric outputs, weight sharing in `nn_config`) is replaced. The
flags are read and written by the trial's own grammar (`enas_trial.flags`), not a copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enas_trial.flags import DEFAULT_EPOCHS, STOCK_SCRIPT, option_table
from katib_enas.core.katib import unquote
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.experiment import Experiment
from katib_enas.experiment.containers import find_primary_container
from katib_enas.experiment.substitution import render_trial_spec
from katib_enas.local.launch import TrialCommandError, container_argv

# The arguments of a search trial that a retrain sets itself or must not carry (Katib's outputs).
_REPLACED = {"architecture", "nn_config", "num_epochs", "save_model", "summary_file"}
_DROPPED = {"metrics_file", "metrics_format", "push_metrics", "db_manager_address", "max_steps"}
_OPTIONS = option_table()  # spelling -> (argument, takes a value)


def retrain_assignments(assignments: Mapping[str, str]) -> dict[str, str]:
    """The child alone: `nn_config` without weight sharing's `shared` key."""
    out = dict(assignments)
    if NN_CONFIG in out:
        out[NN_CONFIG] = strip_sharing(out[NN_CONFIG])
    return out


def trial_container(
    experiment: Experiment, assignments: Mapping[str, str], name: str
) -> dict[str, Any]:
    """The rendered manifest's primary container (its command checked to run enas-trial)."""
    manifest = render_trial_spec(
        experiment.trial_template, assignments, trial_name=name, namespace=experiment.namespace
    )
    container = find_primary_container(manifest, experiment.trial_template.primary_container_name)
    if container is None:
        raise TrialCommandError(
            f"spec.trialTemplate.primaryContainerName: no container named "
            f"{experiment.trial_template.primary_container_name!r}"
        )
    words = container_argv(container)
    if not _runs_enas_trial(words):
        raise TrialCommandError(
            "the trial command does not run enas-trial (or the stock RunTrial.py): "
            f"{' '.join(words[:3])} ...; retrain it with your own training script"
        )
    return dict(container)


def search_epochs(words: Sequence[str]) -> int:
    """The epochs the search trials ran (`--num_epochs`), or enas-trial's default."""
    for index, word in enumerate(words):
        flag, eq, value = word.partition("=")
        if _argument(flag) == "num_epochs":
            text = value if eq else (words[index + 1] if index + 1 < len(words) else "")
            try:
                return int(unquote(text))
            except ValueError:
                break
    return DEFAULT_EPOCHS


def retrain_args(
    words: Sequence[str],
    assignments: Mapping[str, str],
    *,
    epochs: int,
    model_path: str,
    summary_path: str,
) -> list[str]:
    """The trial's arguments (program words kept) with the retrain's flags instead of the
    search's; the assignments as clean words (no shell will strip quotes here)."""
    kept: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        flag, eq, _ = word.partition("=")
        if _argument(flag) in _REPLACED | _DROPPED:
            skip_next = _OPTIONS[flag][1] and not eq
            continue
        kept.append(word)
    return [
        *kept,
        f"{_spelling('architecture')}={assignments[ARCHITECTURE]}",
        f"{_spelling('nn_config')}={assignments[NN_CONFIG]}",
        f"{_spelling('num_epochs')}={epochs}",
        f"{_spelling('save_model')}={model_path}",
        f"{_spelling('summary_file')}={summary_path}",
    ]


def _argument(flag: str) -> str | None:
    """The argument a flag sets (None: not a flag of enas-trial)."""
    entry = _OPTIONS.get(flag)
    return None if entry is None else entry[0]


def _spelling(argument: str) -> str:
    """The flag that sets `argument`, as enas-trial's help spells it."""
    return next(flag for flag, (name, _) in _OPTIONS.items() if name == argument)


def _runs_enas_trial(words: Sequence[str]) -> bool:
    head = words[0].rsplit("/", 1)[-1]
    if head == "enas-trial":
        return True
    return head in ("python", "python3") and any(
        w.rsplit("/", 1)[-1] == STOCK_SCRIPT for w in words[1:4]
    )
