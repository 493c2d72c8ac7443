"""A micro child: both cells node by node, as DARTS and ENAS draw them. Each node sums two
inputs, each through the operation on its edge; the nodes no other node reads are
concatenated into the cell's output."""

from __future__ import annotations

from collections.abc import Mapping

import graphviz

from katib_enas.analysis.drawing.style import EDGE_COLOURS, digraph
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG
from katib_enas.core.spaces.catalogue import MICRO_OPERATION_TYPES
from katib_enas.core.spaces.micro.describe import describe_micro_operation
from katib_enas.core.spaces.micro.format import (
    CELLS,
    check_pair,
    decode_architecture,
    decode_nn_config,
)


def draw(assignments: Mapping[str, str], title: str) -> graphviz.Digraph:
    arch = decode_architecture(assignments[ARCHITECTURE])
    config = decode_nn_config(assignments[NN_CONFIG], MICRO_OPERATION_TYPES)
    check_pair(arch, config)
    graph = digraph(title)
    graph.attr(rankdir="LR")
    for cell_name, cell in zip(CELLS, arch.cells, strict=True):
        with graph.subgraph(name=f"cluster_{cell_name}") as sub:
            sub.attr(label=f"{cell_name} cell", style="rounded", color="#999999")
            sub.node(f"{cell_name}0", "cell k-2", shape="ellipse", fillcolor="#f0f0f0")
            sub.node(f"{cell_name}1", "cell k-1", shape="ellipse", fillcolor="#f0f0f0")
            for index, node in enumerate(cell.nodes):
                name = f"{cell_name}{index + 2}"
                sub.node(name, f"node {index + 2}", shape="circle", fillcolor="#fff7bc")
                for source, op_id in zip(node.inputs, node.ops, strict=True):
                    op = config.embedding[op_id]
                    sub.edge(
                        f"{cell_name}{source}",
                        name,
                        label=describe_micro_operation(op),
                        color=EDGE_COLOURS.get(op.op_type, "black"),
                    )
            output = f"{cell_name}_out"
            sub.node(output, "concat", shape="box", fillcolor="#e5f5e0")
            for unused in cell.unused():
                sub.edge(f"{cell_name}{unused}", output)
    return graph
