"""A trial's `enas-trial` command turned into a retrain command: from scratch, the full
schedule, the model saved.

Shared by `katib-enas retrain` (runs it here) and the cluster retrain Job (`retrain_job`): the
trial template's own command keeps the dataset, batch size and the rest; what made it a search
trial (the epochs, Katib's metric outputs, weight sharing in `nn_config`) is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from katib_enas.core.katib import unquote
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.local.experiment import Experiment
from katib_enas.local.launch import TrialCommandError, container_argv
from katib_enas.local.substitution import render_trial_spec

# Flags of a search trial that a retrain sets itself or must not carry (Katib's outputs).
_VALUED = {"--num-epochs", "--save-model", "--summary-file", "--metrics-file", "--metrics-format"}
_VALUED |= {"--db-manager-address", "--architecture", "--nn-config", "--max-steps"}
_SWITCHES = {"--push-metrics"}
STOCK_SCRIPT = "RunTrial.py"
DEFAULT_EPOCHS = 10  # enas-trial's own default


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
    pod = ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in pod.get("containers") or ():
        if container.get("name") == experiment.trial_template.primary_container_name:
            words = container_argv(container)
            if not _runs_enas_trial(words):
                raise TrialCommandError(
                    "the trial command does not run enas-trial (or the stock RunTrial.py): "
                    f"{' '.join(words[:3])} ...; retrain it with your own training script"
                )
            return dict(container)
    raise TrialCommandError(
        f"spec.trialTemplate.primaryContainerName: no container named "
        f"{experiment.trial_template.primary_container_name!r}"
    )


def search_epochs(words: Sequence[str]) -> int:
    """The epochs the search trials ran (`--num_epochs`), or enas-trial's default."""
    for index, word in enumerate(words):
        flag, eq, value = word.partition("=")
        if _normal(flag) == "--num-epochs":
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
        name = _normal(flag)
        if name in _SWITCHES:
            continue
        if name in _VALUED:
            skip_next = not eq
            continue
        kept.append(word)
    return [
        *kept,
        f"--architecture={assignments[ARCHITECTURE]}",
        f"--nn_config={assignments[NN_CONFIG]}",
        f"--num_epochs={epochs}",
        f"--save-model={model_path}",
        f"--summary-file={summary_path}",
    ]


def _normal(flag: str) -> str:
    return flag.replace("_", "-") if flag.startswith("--") else flag


def _runs_enas_trial(words: Sequence[str]) -> bool:
    head = words[0].rsplit("/", 1)[-1]
    if head == "enas-trial":
        return True
    return head in ("python", "python3") and any(
        w.rsplit("/", 1)[-1] == STOCK_SCRIPT for w in words[1:4]
    )
