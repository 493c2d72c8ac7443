"""The controller learns on micro decisions (both cells' inputs and operations) with defaults."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from micro_search import search

from katib_enas.experiment import Experiment, load_experiment


@pytest.fixture(scope="module")
def micro(repo_root: Path) -> Experiment:
    return load_experiment(repo_root / "manifests/experiments/enas-micro-cifar10-gpu.yaml")


@pytest.mark.parametrize("seed", [1, 2])
def test_default_settings_learn_micro_cells_within_150_trials(micro: Experiment, seed: int) -> None:
    learned = statistics.mean(search(micro, "reinforce", seed, 150)[-30:])
    baseline = statistics.mean(search(micro, "random", seed, 150)[-30:])
    assert 0.25 < baseline < 0.36  # 1 of 5 operations, about 1 in 3 inputs an earlier node
    assert learned > 1.4 * baseline, (learned, baseline)
