"""Architecture pictures: a drawing for every registered space kind, drawn by Graphviz's `dot`
into what a person reads (macro: one box per layer, its skips dashed; micro: both cells, each
node's two inputs labelled with their operations)."""

from __future__ import annotations

import re

import pytest
import torch
from space_samples import SAMPLES, sample

from katib_enas.analysis import drawing
from katib_enas.core.spaces import KINDS
from katib_enas.core.spaces.macro import Architecture
from katib_enas.core.spaces.micro import MicroArchitecture


def test_every_space_kind_has_a_drawing() -> None:
    assert set(drawing.DRAWERS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_sampled_architecture_is_drawn_as_svg(kind: str, seed: int) -> None:
    space = sample(kind).search_space()
    assert space is not None
    architecture = space.sample_uniform(torch.Generator().manual_seed(seed))
    graph = drawing.draw(space.encode(architecture), "best")
    assert graph is not None
    svg = drawing.svg(graph)
    assert svg is not None and "<svg" in svg
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    if isinstance(architecture, Architecture):
        layers = len(architecture.layers)
        assert {f"layer{i}" for i in range(layers)} <= set(titles)
        skips = sum(
            bit for i, layer in enumerate(architecture.layers) for k, bit in enumerate(layer.skips)
            if k != i - 1
        )  # fmt: skip
        assert graph.source.count("style=dashed") == skips
    elif isinstance(architecture, MicroArchitecture):  # a new kind gets the checks above
        nodes = len(architecture.normal.nodes)
        for cell in ("normal", "reduction"):
            assert f"{cell} cell" in svg
            assert {f"{cell}{i}" for i in range(2, nodes + 2)} <= set(titles)
        # Every node reads two inputs, each edge labelled with its operation.
        assert graph.source.count("label=") >= 2 * 2 * nodes


def test_assignments_no_kind_reads_are_not_drawn() -> None:
    assert drawing.draw({"architecture": "[[0]]", "nn_config": "not json"}, "x") is None
    assert drawing.draw({"lr": "0.1"}, "x") is None
