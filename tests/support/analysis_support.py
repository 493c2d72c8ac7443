"""Helpers of the analysis tests: run directories written the way `katib-enas run` writes them
(its store, its Experiment copy) with trials of every condition, and one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from katib_enas.core.katib import Condition
from katib_enas.core.sharing.reference import StoreReference, with_reference
from katib_enas.core.updates import ControllerUpdate, Decision
from katib_enas.experiment import load_experiment
from katib_enas.experiment.metric_logs import MetricLog
from katib_enas.local.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
DIGITS = REPO_ROOT / "manifests" / "local" / "digits.yaml"
MICRO = REPO_ROOT / "manifests" / "local" / "digits-micro.yaml"
KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")
METRIC = "Validation-Accuracy"

# (condition, objective, message) of the trials a fake run holds, in creation order.
TRIALS: list[tuple[Condition, float | None, str]] = [
    (Condition.SUCCEEDED, 0.91, ""),
    (Condition.FAILED, None, "exit code 2: enas-trial: error: nn_config: missing key 'embedding'"),
    (Condition.SUCCEEDED, 0.97, ""),
    (Condition.METRICSUNAVAILABLE, None, "no Validation-Accuracy reported; the trial printed: Acc"),
    (Condition.EARLYSTOPPED, 0.42, "medianstop: 0.42 below the median 0.9"),
    (Condition.SUCCEEDED, 0.95, ""),
    (Condition.KILLED, None, "experiment completed"),
]


def make_run(
    run_dir: Path,
    experiment_file: Path = DIGITS,
    *,
    name: str = "enas-digits",
    status: str = "Succeeded",
    seed: int = 0,
    trials: list[tuple[Condition, float | None, str]] | None = None,
    parameters: list[int] | None = None,
    shared: bool = False,
) -> list[str]:
    """A run directory as `katib-enas run` leaves it; returns the trial names. `parameters`:
    each trial's Parameter-Count (default 12345 for all)."""
    run_dir.mkdir(parents=True)
    shutil.copy(experiment_file, run_dir / "experiment.yaml")
    text = (run_dir / "experiment.yaml").read_text().replace("name: enas-digits", f"name: {name}")
    (run_dir / "experiment.yaml").write_text(text)
    space = load_experiment(run_dir / "experiment.yaml").search_space()
    assert space is not None
    store = Store(run_dir / "katib.db")
    generator = torch.Generator().manual_seed(seed)
    names = []
    for index, (condition, value, message) in enumerate(trials or TRIALS):
        trial = f"{name}-t{index + 1}"
        names.append(trial)
        assignments = space.encode(space.sample_uniform(generator))
        if shared:  # as a weight-sharing search hands them out
            assignments = with_reference(
                assignments, StoreReference("127.0.0.1:1", name, 5, 50, 64)
            )
        store.add_trial(trial, list(assignments.items()), {})
        store.set_running(trial, f"2026-01-01T00:{index:02d}:00.000000Z")
        observation: dict[str, dict[str, str]] = {}
        size = parameters[index] if parameters is not None else 12345
        if value is not None:
            observation = {
                "Validation-Accuracy": {"min": "0.1", "max": str(value), "latest": str(value)},
                "Test-Accuracy": {"min": "0.5", "max": "0.5", "latest": "0.5"},
                "Parameter-Count": dict.fromkeys(("min", "max", "latest"), str(size)),
            }
        if value is not None:  # three epochs' reports climbing to the final value
            store.add_logs(
                trial,
                [
                    MetricLog(f"2026-01-01T00:{index:02d}:{10 * e:02d}Z", METRIC, str(v))
                    for e, v in enumerate((value / 2, value * 0.9, value), start=1)
                ],
            )
        store.finish_trial(
            trial,
            condition=condition,
            completion_time=f"2026-01-01T00:{index:02d}:30.500000Z",
            message=message,
            exit_code=2 if condition is Condition.FAILED else 0,
            objective=value,
            observation=observation,
        )
    store.add_controller_updates(
        [
            ControllerUpdate(n, 4, 0.5 + n / 10, 0.5 + n / 20, 0.1, 3.0 - n / 10, _decisions(n))
            for n in (1, 2, 3)
        ]
    )
    store.set_meta("experiment", name)
    store.set_meta("status", status)
    store.set_meta("reason", "maxTrialCount 7 reached" if status == "Succeeded" else "")
    store.close()
    return names


Command = Callable[..., subprocess.CompletedProcess[str]]
OPERATIONS = tuple(f"op {i}" for i in range(6))


def _decisions(update: int) -> tuple[Decision, ...]:
    """A controller that learns `op 5` for layer 0 and to skip from layer 0 to layer 1."""
    rest = (1 - 0.25 * update) / 5
    return (
        Decision("layer 0: operation", OPERATIONS, (*[rest] * 5, 0.25 * update)),
        Decision("layer 1: operation", OPERATIONS, (1 / 6,) * 6),
        Decision("layer 1: input from layer 0", ("no", "yes"), (1 - 0.3 * update, 0.3 * update)),
    )


def one_error_line(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The single `katib-enas <command>: error: ...` line of a refused command (exit 2)."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"katib-enas {command}: error: "), lines[0]
    return lines[0]


def as_dict(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value
