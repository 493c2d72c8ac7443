"""The GitHub Actions workflows (they cannot run here): both pass the real `actionlint` (with
ShellCheck on their `run:` steps), CI runs what `.ci/run` runs, in its order, and the release
workflow pushes with the Makefile's `make push`, under the tag's version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = ".github/workflows"


def _actionlint() -> str:
    found = shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint not found on PATH: `make test` installs it (the dev extra)")
    return found


def _workflow(repo_root: Path, name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((repo_root / WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def test_the_workflows_pass_actionlint(repo_root: Path) -> None:
    files = sorted((repo_root / WORKFLOWS).glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "release.yml"]
    result = subprocess.run(
        [_actionlint(), "-no-color", "-oneline", *map(str, files)],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_refuses_a_broken_workflow(tmp_path: Path) -> None:
    """The check is real: a misspelt input and an injectable expression are both reported."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    broken = tmp_path / WORKFLOWS / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v5\n        with: {fetch-depht: 1}\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
    )
    result = subprocess.run(
        [_actionlint(), "-no-color", "-oneline", str(broken)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert '"fetch-depht" is not defined' in result.stdout
    assert "potentially untrusted" in result.stdout


def test_ci_runs_what_ci_run_runs(repo_root: Path) -> None:
    """.ci/run is the project's CI entry point and calls the README's test command; the GitHub
    workflow runs the same commands, in the same order, as root in Debian as .ci/run does."""
    script = (repo_root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in script if line.startswith("make ")]
    assert commands == ["make test", "make lint"]
    assert "make test" in (repo_root / "README.md").read_text(encoding="utf-8")
    ci = _workflow(repo_root, "ci.yml")
    assert ci[True] == {"push": {"branches": ["main"]}, "pull_request": None}  # YAML's `on`
    [job] = ci["jobs"].values()
    assert job["container"]["image"].startswith("python:3.11-")
    runs = [step["run"] for step in _steps(ci) if "run" in step]
    assert [r for r in runs if r.startswith("make ")] == commands


def test_release_pushes_the_images_with_make_push_under_the_tags_version(repo_root: Path) -> None:
    release = _workflow(repo_root, "release.yml")
    assert release[True] == {"push": {"tags": ["v*"]}}
    assert release["permissions"]["packages"] == "write"
    steps = _steps(release)
    [push] = [s for s in steps if s.get("name") == "make push"]
    assert push["run"] == 'make push REGISTRY="$REGISTRY" TAG="$TAG"'
    # What that step runs, for a tag v0.1.0 of katib-enas/katib-enas.
    dry = subprocess.run(
        ["make", "-n", "push", "REGISTRY=ghcr.io/katib-enas", "TAG=0.1.0"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "docker push ghcr.io/katib-enas/suggestion:0.1.0" in dry.splitlines()
    [check] = [s for s in steps if "appVersion" in s.get("run", "")]
    assert "pyproject.toml" in check["run"]
