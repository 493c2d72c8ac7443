"""Fixtures of the Experiment tests: the bundled digits Experiment as a dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "local" / "digits.yaml"


@pytest.fixture
def example_doc() -> dict[str, Any]:
    """The bundled digits Experiment as a dict (a fresh copy)."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc
