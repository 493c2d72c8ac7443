"""One sample Experiment per registered search-space kind, for the contract suites.

A new kind registered in `katib_enas.core.spaces.KINDS` must add its sample here; a test fails
until it does, so every contract suite runs against every kind.
"""

from __future__ import annotations

from pathlib import Path

from katib_enas.core.katib import Objective
from katib_enas.core.settings import EnasSettings
from katib_enas.core.spaces.operations import NasConfig
from katib_enas.experiment import Experiment, load_experiment

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES: dict[str, Path] = {
    "macro": REPO_ROOT / "tests" / "fixtures" / "katib" / "examples" / "enas-gpu.yaml",
    "micro": REPO_ROOT / "manifests" / "local" / "digits-micro.yaml",
}


def sample(kind: str) -> Experiment:
    experiment = load_experiment(SAMPLES[kind])
    assert experiment.settings().search_space == kind, SAMPLES[kind]
    return experiment


def parts(kind: str) -> tuple[NasConfig, Objective, EnasSettings]:
    experiment = sample(kind)
    assert experiment.nas_config is not None
    return experiment.nas_config, experiment.objective, experiment.settings()
