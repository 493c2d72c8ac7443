"""Fixtures of the local-runner tests: small Experiment YAMLs and the real `katib-enas` command."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

BIN = Path(sys.executable).parent
KATIB_ENAS = str(BIN / "katib-enas")
EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "local" / "digits.yaml"

# One-epoch trials on digits: the smallest real trial there is.
TRIAL_ARGS = [
    "--dataset=digits",
    "--num_epochs=1",
    "--num_gpus=0",
    "--threads=1",
    "--batch-size=64",
    '--architecture="${trialParameters.neuralNetworkArchitecture}"',
    '--nn_config="${trialParameters.neuralNetworkConfig}"',
]


def base_experiment() -> dict[str, Any]:
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def container(doc: dict[str, Any]) -> dict[str, Any]:
    containers = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    assert isinstance(containers[0], dict)
    return containers[0]


@pytest.fixture
def make_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write a tiny variant of the bundled Experiment; returns its path."""

    def make(
        *,
        name: str = "tiny",
        max_trials: int = 2,
        parallel: int = 2,
        max_failed: int | None = 3,
        goal: float | None = None,
        command: list[str] | None = None,
        collector: dict[str, Any] | None = None,
        extra_args: list[str] | None = None,
    ) -> Path:
        doc = copy.deepcopy(base_experiment())
        doc["metadata"]["name"] = name
        spec = doc["spec"]
        spec["maxTrialCount"] = max_trials
        spec["parallelTrialCount"] = parallel
        if max_failed is None:
            spec.pop("maxFailedTrialCount", None)
        else:
            # Katib refuses more allowed failures than trials.
            spec["maxFailedTrialCount"] = min(max_failed, max_trials)
        if goal is not None:
            spec["objective"]["goal"] = goal
        if collector is not None:
            spec["metricsCollectorSpec"] = collector
        container(doc)["command"] = command or ["enas-trial", *TRIAL_ARGS, *(extra_args or [])]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return make


@pytest.fixture
def katib_enas() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `katib-enas ARGS` as a real process: `katib_enas(*args, cwd=..., timeout=...)`."""

    def run(
        *args: str | Path, cwd: Path, timeout: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, COLUMNS="160")
        return subprocess.run(
            [KATIB_ENAS, *(str(a) for a in args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture
def example_doc() -> dict[str, Any]:
    """The bundled digits Experiment as a dict (a fresh copy)."""
    return base_experiment()
