"""Fixtures every test directory shares: where the repo and Katib's reference data live (inside
the repository: a clone runs the suite with nothing beside it), and the Prometheus tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
KATIB_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "katib"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def katib_dir() -> Path:
    """Katib's examples, config and OpenAPI spec, copied unchanged into the repository
    (`tests/fixtures/katib/`, provenance and refresh script beside them)."""
    return KATIB_FIXTURES


@pytest.fixture(scope="session")
def katib_examples(katib_dir: Path) -> Path:
    return katib_dir / "examples"


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
