"""The Makefile's targets as `make -n` prints them (what each would run, on a fresh clone): `run`
installs only the runtime, `test` adds the development tools, `TORCH_INDEX` moves only torch to
another index, and `images`/`push` build the three images from their Dockerfiles under the names
the chart and the Experiments use (or REGISTRY/TAG)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def make_n(repo_root: Path, tmp_path: Path, *args: str) -> list[str]:
    """The commands `make` would run in a clone without a virtual environment."""
    result = subprocess.run(
        ["make", "-n", f"VENV={tmp_path / 'venv'}", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if not line.startswith("#")]


def _pip_installs(commands: list[str]) -> list[str]:
    return [c.split(" install -q ", 1)[1].strip() for c in commands if " -m pip install" in c]


def test_run_installs_only_the_runtime(repo_root: Path, tmp_path: Path) -> None:
    commands = make_n(repo_root, tmp_path, "run")
    # torch first, so the project's `torch>=` range never pulls another build.
    assert _pip_installs(commands) == ["torch==2.13.0", "-e '.[local]'"]


@pytest.mark.parametrize("target", ["test", "test-fast", "lint"])
def test_test_and_lint_add_the_development_tools(
    target: str, repo_root: Path, tmp_path: Path
) -> None:
    commands = make_n(repo_root, tmp_path, target)
    assert _pip_installs(commands) == ["torch==2.13.0", "-e '.[local]'", "-e '.[dev]'"]


def test_torch_index_moves_only_torch(repo_root: Path, tmp_path: Path) -> None:
    commands = make_n(repo_root, tmp_path, "run", f"TORCH_INDEX={CPU_INDEX}")
    assert _pip_installs(commands) == [f"--index-url {CPU_INDEX} torch==2.13.0", "-e '.[local]'"]


def _builds(commands: list[str]) -> dict[str, str]:
    """Image reference -> Dockerfile of each `docker build -f FILE -t REF .`."""
    builds = {}
    for command in commands:
        match = re.fullmatch(r"docker build -f (\S+) -t (\S+) \.", command)
        if match:
            builds[match.group(2)] = match.group(1)
    return builds


def test_images_build_every_dockerfile_under_the_names_the_chart_and_experiments_use(
    repo_root: Path, tmp_path: Path
) -> None:
    builds = _builds(make_n(repo_root, tmp_path, "images"))
    assert sorted(builds.values()) == [
        "operator/Dockerfile",
        "trial_image/Dockerfile",
        "trial_image/Dockerfile.cpu",
    ]
    chart = yaml.safe_load((repo_root / "helm/katib-enas/Chart.yaml").read_text())
    values = yaml.safe_load((repo_root / "helm/katib-enas/values.yaml").read_text())
    suggestion = f"{values['image']['repository']}:{chart['appVersion']}"
    assert builds[suggestion] == "operator/Dockerfile"
    # Every image of ours that a manifest names is one `make images` builds.
    named = set()
    for path in (repo_root / "manifests").rglob("*.yaml"):
        named.update(re.findall(r"ghcr\.io/katib-enas/[\w.-]+:[\w.-]+", path.read_text()))
    assert named and named <= set(builds), named - set(builds)


def test_push_builds_then_pushes_to_another_registry(repo_root: Path, tmp_path: Path) -> None:
    commands = make_n(repo_root, tmp_path, "push", "REGISTRY=registry.example.com/ml", "TAG=dev1")
    refs = sorted(
        f"registry.example.com/ml/{name}:dev1" for name in ("suggestion", "trial", "trial-cpu")
    )
    assert sorted(_builds(commands)) == refs
    pushes = [c.removeprefix("docker push ") for c in commands if c.startswith("docker push ")]
    assert sorted(pushes) == refs
    assert min(commands.index(f"docker push {ref}") for ref in refs) > max(
        i for i, c in enumerate(commands) if c.startswith("docker build")
    )


def test_run_is_the_enas_pipeline_on_fashion_mnist(repo_root: Path, tmp_path: Path) -> None:
    """A weight-sharing search, derive, and the winner retrained, all on one run directory;
    Fashion-MNIST installed first where it is missing (from Debian's package, visibly)."""
    commands = make_n(repo_root, tmp_path, "run", "FASHION_DIR=/nonexistent")
    katib = [c.split("katib-enas ", 1)[1] for c in commands if "/bin/katib-enas " in c]
    [search, derive, retrain] = katib
    run_dir = search.rsplit("--run-dir ", 1)[1]
    assert search == f"run manifests/local/fashion-shared.yaml --run-dir {run_dir}"
    assert derive == f"derive {run_dir}"
    assert retrain == f"retrain {run_dir} --derived 1 --epochs 2"
    installs = "\n".join(commands)
    assert "apt-get install" in installs and "dataset-fashion-mnist" in installs
    assert commands.index(next(c for c in commands if "dataset-fashion-mnist" in c)) < next(
        i for i, c in enumerate(commands) if "/bin/katib-enas " in c
    )
