"""On a CUDA machine: the trial launcher still starts (one thread after importing a CUDA torch),
CPU trials fork from it and report what a fresh process reports, and CUDA trials keep a fresh
process and train on the GPU (CUDA does not survive a fork)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import torch
from trial_support import DIGITS_ARCHITECTURE, DIGITS_OPERATIONS, nn_config

from katib_enas.local.launch import Launch, enas_trial_executable
from katib_enas.local.launcher import ForkLauncher, TrialStarter
from katib_enas.local.processes import AttachedTrial, RunningTrial, SpawnedTrial

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
ARGS = [
    f"--architecture={DIGITS_ARCHITECTURE}",
    f"--nn_config={nn_config(DIGITS_OPERATIONS, [8, 8, 1])}",
    "--dataset=digits",
    "--num_epochs=2",
    "--batch-size=32",
    "--seed=3",
    "--threads=1",
    "--summary-file=summary.json",
]


def _launch(tmp_path: Path, name: str, args: list[str]) -> Launch:
    trial_dir = tmp_path / name
    trial_dir.mkdir()
    env = {**os.environ, "KATIB_TRIAL_NAME": name, "PYTHONUNBUFFERED": "1"}
    argv = (enas_trial_executable(), *args)
    return Launch(name, argv, False, env, trial_dir, trial_dir / "trial.log", 600)


def _finish(process: RunningTrial) -> dict[str, object]:
    deadline = time.monotonic() + 600
    while not process.poll():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert process.exit_code == 0, process.launch.log_path.read_text()
    summary: dict[str, object] = json.loads((process.launch.cwd / "summary.json").read_text())
    return summary


def _metrics(text: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in text.splitlines() if "-Accuracy=" in line]


def test_cpu_trials_fork_and_cuda_trials_start_fresh(tmp_path: Path) -> None:
    launcher = ForkLauncher(tmp_path / "launcher.log")
    starter = TrialStarter(launcher)
    try:
        assert launcher.ready(), launcher.problem
        assert launcher.cuda_build
        assert len(os.listdir(f"/proc/{launcher.pid}/task")) == 1
        cpu = starter.start(_launch(tmp_path, "cpu", [*ARGS, "--num_gpus=0"]), lambda r: None)
        gpu = starter.start(_launch(tmp_path, "gpu", ARGS), lambda r: None)
        assert isinstance(cpu, AttachedTrial)  # forked from the launcher
        assert isinstance(gpu, SpawnedTrial)  # a fresh process
        cpu_summary, gpu_summary = _finish(cpu), _finish(gpu)
    finally:
        starter.close()
    assert cpu_summary["device"] == "cpu"
    assert gpu_summary["device"].startswith("cuda")  # type: ignore[union-attr]
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh = subprocess.run(
        [enas_trial_executable(), *ARGS, "--num_gpus=0"],
        cwd=fresh_dir,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    forked_log = (tmp_path / "cpu" / "trial.log").read_text()
    assert _metrics(fresh.stdout) and _metrics(forked_log) == _metrics(fresh.stdout)
