"""A micro (cell) Experiment end to end on this machine: the bundled `digits-micro.yaml` cut to
two one-epoch trials runs through the real service, real trials and the StdOut collector, and the
results describe both cells node by node."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_micro_experiment_runs_and_its_results_show_the_cells(
    repo_root: Path, tmp_path: Path, katib_enas: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    doc = yaml.safe_load((repo_root / "manifests/local/digits-micro.yaml").read_text())
    doc["spec"]["maxTrialCount"] = doc["spec"]["maxFailedTrialCount"] = 2
    container = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    command = container["containers"][0]["command"]
    container["containers"][0]["command"] = [
        "--num_epochs=1" if word.startswith("--num_epochs") else word for word in command
    ]
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    best = json.loads((tmp_path / "run" / "best-trial.json").read_text())["best_trial"]
    layers = best["layers"]
    assert "normal cell:" in layers and "reduction cell:" in layers, layers
    assert sum(line.startswith("node ") for line in (x.strip() for x in layers)) == 8
    summary = (tmp_path / "run" / "summary.txt").read_text()
    assert "2 succeeded" in summary and "reduction cell:" in summary
    status = katib_enas("status", tmp_path / "run", cwd=tmp_path)
    assert status.returncode == 0 and "normal cell:" in status.stdout
