"""A macro child: one box per layer (its operation), the chain of layers, and each skip
connection as a dashed edge from the layer it reads."""

from __future__ import annotations

from collections.abc import Mapping

import graphviz

from katib_enas.analysis.drawing.style import OP_COLOURS, digraph
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.core.spaces.macro.format import (
    check_pair,
    decode_architecture,
    decode_nn_config,
)
from katib_enas.core.spaces.operations import describe_operation


def draw(assignments: Mapping[str, str], title: str) -> graphviz.Digraph:
    arch = decode_architecture(assignments[ARCHITECTURE])
    config = decode_nn_config(assignments[NN_CONFIG])
    check_pair(arch, config)
    graph = digraph(title)
    size = "x".join(str(s) for s in config.input_sizes)
    graph.node("input", f"input {size}", shape="ellipse", fillcolor="white")
    previous = "input"
    for index, layer in enumerate(arch.layers):
        op = config.embedding[layer.op_id]
        name = f"layer{index}"
        graph.node(
            name,
            f"layer {index}\n{describe_operation(op)}",
            shape="box",
            fillcolor=OP_COLOURS.get(op.op_type, "white"),
        )
        graph.edge(previous, name)
        for source, bit in enumerate(layer.skips):
            if bit and source != index - 1:
                graph.edge(f"layer{source}", name, style="dashed", color="#756bb1")
        previous = name
    classes = config.output_sizes[-1]
    graph.node(
        "head", f"global average pool, linear\n{classes} classes", shape="box", fillcolor="white"
    )
    graph.edge(previous, "head")
    return graph
