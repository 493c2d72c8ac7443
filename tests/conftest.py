"""Fixtures every test directory shares: where the repo and Katib's reference data live."""

from __future__ import annotations

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
