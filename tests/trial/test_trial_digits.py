"""Acceptance on this machine's CPU: a 4-layer child learns scikit-learn's digits, reproducibly.

How long it takes is a benchmark's business (`tests/benchmarks/test_bench_digits.py`): a timed
assertion failed here on a busy machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trial_support import TrialRunner


def validation_accuracies(stdout: str) -> list[float]:
    return [
        float(line.rsplit("=", 1)[1])
        for line in stdout.splitlines()
        if line.split(" ", 1)[1].startswith("Validation-Accuracy=")
    ]


@pytest.mark.slow
def test_digits_reaches_90_percent_in_5_epochs_reproducibly(
    run_trial: TrialRunner, digits_assignments: tuple[str, str], tmp_path: Path
) -> None:
    architecture, config = digits_assignments
    args = (
        f"--architecture={architecture}",
        f"--nn_config={config}",
        "--dataset=digits",
        "--num_epochs=5",
        "--batch-size=32",
        "--seed=3",
        "--device=cpu",
    )
    first = run_trial(*args, f"--summary-file={tmp_path / 'summary.json'}")
    assert first.returncode == 0, first.stderr
    accuracies = validation_accuracies(first.stdout)
    assert len(accuracies) == 5
    assert max(accuracies) >= 0.90, accuracies
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["test_accuracy"] >= 0.85  # the held-out test set agrees with validation

    # Same seed on the CPU: the very same numbers (timestamps aside).
    second = run_trial(*args)
    assert second.returncode == 0, second.stderr

    def values(stdout: str) -> list[str]:
        return [line.split(" ", 1)[1] for line in stdout.splitlines()]

    assert values(second.stdout) == values(first.stdout)
