"""A weight-sharing Experiment end to end on this machine: `digits-shared.yaml` cut to six
trials, two at a time, through the real service (and its store on the same port), real forked
trials and the StdOut collector; every trial pushes its slice once and the run directory keeps
the weights."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from katib_enas.core.sharing.store import SharedStore
from katib_enas.core.state import load

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_a_shared_search_runs_and_every_trial_pushes_once(
    repo_root: Path, tmp_path: Path, katib_enas: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    doc = yaml.safe_load((repo_root / "manifests/local/digits-shared.yaml").read_text())
    doc["spec"]["maxTrialCount"] = 6
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = katib_enas("run", path, "--run-dir", "run", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "6 succeeded" in (tmp_path / "run" / "summary.txt").read_text()
    logs = [p.read_text() for p in sorted((tmp_path / "run" / "trials").glob("*/trial.log"))]
    assert len(logs) == 6
    assert all("shared weights: pushed" in log for log in logs)
    assert sum("pulled 0 of" in log for log in logs) <= 2  # only the first two found it empty
    [saved] = (tmp_path / "run" / "suggestion").glob("*/shared-weights.pt")
    state = load(saved)
    assert state is not None
    store = SharedStore("enas-digits-shared", 20, 1, 1 << 30)
    store.load_state_dict(state)
    assert (store.version, store.global_step) == (6, 6 * 20)
    assert store.tensors and store.bytes > 0
