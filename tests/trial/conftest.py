"""Fixtures for the trial: Katib's stock search space, assignment strings, and running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from trial_support import (
    DIGITS_ARCHITECTURE,
    DIGITS_OPERATIONS,
    TrialRunner,
    nn_config,
    space_from_experiment,
)

from katib_enas.core.spaces.macro import MacroSpace


@pytest.fixture(scope="session")
def gpu_space(katib_examples: Path) -> MacroSpace:
    """The 8-layer, 106-operation space of Katib's stock `enas-gpu.yaml`."""
    return space_from_experiment(katib_examples / "enas-gpu.yaml")


@pytest.fixture(scope="session")
def digits_assignments() -> tuple[str, str]:
    return DIGITS_ARCHITECTURE, nn_config(DIGITS_OPERATIONS, [8, 8, 1])


@pytest.fixture
def run_trial(tmp_path: Path) -> TrialRunner:
    """Run the real `enas-trial` console script; returns the finished process."""
    script = Path(sys.executable).with_name("enas-trial")
    assert script.is_file(), f"{script} missing: is the project installed in this venv?"

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "KATIB_ENAS_THREADS": "2", **(env or {})}
        return subprocess.run(
            [str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            env=full_env,
            check=False,
        )

    return run
