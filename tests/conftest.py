"""Fixtures every test directory shares: where the repo and Katib's reference data live, and the
Prometheus tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the checkout: Katib's examples, config and OpenAPI spec."""
    path = REPO_ROOT.parent / "shared"
    assert (path / "katib" / "openapi.json").is_file(), f"Katib reference data missing in {path}"
    return path


@pytest.fixture(scope="session")
def katib_examples(shared_dir: Path) -> Path:
    return shared_dir / "katib" / "examples"


def _debian_tool(name: str) -> str:
    """A tool of Debian's `prometheus` package; missing, the test fails saying how to install it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} not found on PATH: run `bash scripts/install-tools.sh` (make test does), "
            "which installs Debian's prometheus package"
        )
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return _debian_tool("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _debian_tool("prometheus")
