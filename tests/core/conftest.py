"""Fixtures for the algorithm core: Katib's stock search space and a synthetic reward."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import Architecture
from katib_enas.experiment import load_experiment

# The controller's tensors are tiny: one thread is fastest, as in the service.
torch.set_num_threads(1)


def space_of(path: Path) -> MacroSpace:
    space = load_experiment(path).search_space()
    assert space is not None
    return space


@pytest.fixture(scope="session")
def gpu_space(katib_examples: Path) -> MacroSpace:
    """The 106-operation, 8-layer space of Katib's `enas-gpu.yaml`."""
    return space_of(katib_examples / "enas-gpu.yaml")


@pytest.fixture(scope="session")
def five_by_five_share(gpu_space: MacroSpace) -> Callable[[Architecture], float]:
    """Synthetic reward: the share of layers whose op is a 5x5 convolution (10 of 106 ops)."""
    good = {
        op.op_id
        for op in gpu_space.operations
        if op.op_type == "convolution" and op.param_dict["filter_size"] == "5"
    }
    assert len(good) == 10

    def reward(architecture: Architecture) -> float:
        return sum(op in good for op in architecture.op_ids) / len(architecture.layers)

    return reward
