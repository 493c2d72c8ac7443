"""Micro architectures in words, node by node: what results, the service log and the trial's log
print, so that all three read the same."""

from __future__ import annotations

from collections.abc import Mapping

from katib_enas.core.spaces.micro.format import CELLS, MicroArchitecture
from katib_enas.core.spaces.operations import Operation, describe_operation

_CONVOLUTIONS = {
    "separable_convolution": "sep conv",
    "dilated_convolution": "dil conv",
    "convolution": "conv",
}


def describe_micro_operation(op: Operation) -> str:
    """`sep conv 3x3`, `max pool 3x3`, `identity`..."""
    params = op.param_dict
    if op.op_type == "identity":
        return "identity"
    if op.op_type == "reduction":
        kind = "max pool" if params.get("reduction_type") == "max_pooling" else "avg pool"
        return f"{kind} {params['pool_size']}x{params['pool_size']}"
    size = params.get("filter_size")
    text = f"{_CONVOLUTIONS.get(op.op_type, describe_operation(op))} {size}x{size}"
    if op.op_type == "dilated_convolution":
        text += f" (dilation {params.get('dilation', 2)})"
    return text


def describe_cells(
    architecture: MicroArchitecture, embedding: Mapping[int, Operation]
) -> list[str]:
    """Both cells: one line per node (its two operations and inputs), then the cell's output."""
    lines = []
    for name, cell in zip(CELLS, architecture.cells, strict=True):
        lines.append(f"{name} cell:")
        for index, node in enumerate(cell.nodes):
            parts = [
                f"{describe_micro_operation(embedding[op])}({input_name(i)})"
                for i, op in zip(node.inputs, node.ops, strict=True)
            ]
            lines.append(f"  node {index + 2} = {' + '.join(parts)}")
        outputs = ", ".join(f"node {i}" for i in cell.unused())
        lines.append(f"  output = concat({outputs})")
    return lines


def input_name(index: int) -> str:
    return {0: "cell k-2", 1: "cell k-1"}.get(index, f"node {index}")
