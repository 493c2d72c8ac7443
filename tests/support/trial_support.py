"""Helpers the trial tests share: Katib-quoted assignment strings and Katib's stock search space."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from katib_enas.core.spaces.macro import Architecture, MacroSpace
from katib_enas.experiment import load_experiment

# The 4-layer digits architecture of the acceptance test: conv 3x3/32, separable 3x3/48 with a
# skip from layer 0, conv 3x3/64 stride 2, conv 3x3/64 reading layers 0 and 2 (op ids below).
DIGITS_OPERATIONS: list[dict[str, Any]] = [
    {
        "opt_type": "convolution",
        "opt_params": {"filter_size": "3", "num_filter": "32", "stride": "1"},
    },
    {
        "opt_type": "separable_convolution",
        "opt_params": {
            "filter_size": "3",
            "num_filter": "48",
            "stride": "1",
            "depth_multiplier": "1",
        },
    },
    {
        "opt_type": "convolution",
        "opt_params": {"filter_size": "3", "num_filter": "64", "stride": "2"},
    },
    {
        "opt_type": "convolution",
        "opt_params": {"filter_size": "3", "num_filter": "64", "stride": "1"},
    },
]
DIGITS_ARCHITECTURE = "[[0],[1,1],[2,0,1],[3,1,0,1]]"


def katib_json(value: object) -> str:
    """Katib's stock quoting: compact JSON with every `"` replaced by `'`."""
    return json.dumps(value, separators=(",", ":")).replace('"', "'")


def nn_config(
    operations: Sequence[dict[str, Any]],
    input_sizes: Sequence[int],
    classes: int = 10,
    num_layers: int | None = None,
) -> str:
    """An `nn_config` whose op ids are the positions in `operations`."""
    embedding = {str(i): {"opt_id": i, **op} for i, op in enumerate(operations)}
    return katib_json(
        {
            "num_layers": len(operations) if num_layers is None else num_layers,
            "input_sizes": list(input_sizes),
            "output_sizes": [classes],
            "embedding": embedding,
        }
    )


def space_from_experiment(path: Path) -> MacroSpace:
    """The flattened search space of an Experiment YAML's `nasConfig` (Katib's numbering)."""
    space = load_experiment(path).search_space()
    assert space is not None, f"{path} has no nasConfig"
    return space


def assignments(space: MacroSpace, architecture: Architecture) -> tuple[str, str]:
    encoded = space.encode(architecture)
    return encoded["architecture"], encoded["nn_config"]


# `run_trial(*args, env=..., timeout=...)`: the fixture of conftest.py.
TrialRunner = Callable[..., subprocess.CompletedProcess[str]]
