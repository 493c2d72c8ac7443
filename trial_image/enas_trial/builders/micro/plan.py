"""The micro child's shape plan: the cells in order, their channels and sizes, every parameter.

Plain Python (no torch), so that a bad assignment costs milliseconds. The network (ENAS's micro
child, stacked as DARTS stacks cells):

- a stem: conv 3x3 to `init_channels x stem_multiplier` channels, BatchNorm;
- `num_cells` cells; cells at `N // 3` and `2 N // 3` are reduction cells (half the size, twice
  the channels). A cell reads the two previous cells' outputs, each brought to the cell's
  channels by ReLU-conv 1x1-BN (a factorized reduction when the cell two back is twice as
  large); each node sums its two inputs, each through its operation (stride 2 when a reduction
  cell's node reads a cell input); the cell's output concatenates the nodes no node reads, then
  ReLU-conv 1x1-BN back to the cell's channels;
- a head: ReLU, global average pooling, optional dropout, linear.

Operations: `separable_convolution` (ReLU-sepconv-BN, twice, as ENAS applies it), `convolution`
and `dilated_convolution` (ReLU-conv-BN), `reduction` (max/avg pooling, no parameters),
`identity` (a factorized reduction where it must halve). Windows must be odd so that every
operation keeps the size exactly (or halves it, rounding up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from enas_trial.builders.base import class_count, image_shape
from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.spaces.micro.describe import describe_cells
from katib_enas.core.spaces.micro.format import (
    MicroArchitecture,
    MicroConfig,
    check_pair,
    reduction_positions,
)
from katib_enas.core.spaces.operations import Operation

MAX_CHANNELS = 8192


@dataclass(frozen=True)
class MicroOp:
    """One operation with its parameters resolved."""

    op_type: str
    size: int = 1  # filter or pool window
    dilation: int = 1
    depth_multiplier: int = 1
    pooling: str = ""  # max_pooling | avg_pooling

    @classmethod
    def from_operation(cls, op: Operation, where: str) -> MicroOp:
        params = op.param_dict

        def number(name: str, default: int | None) -> int:
            return op.number(name, default, where)

        # Windows are odd: the embedding was checked against MICRO_OPERATION_TYPES.
        if op.op_type == "identity":
            return cls("identity")
        if op.op_type == "reduction":
            size = number("pool_size", None)
            return cls("reduction", size, pooling=str(params.get("reduction_type", "")))
        return cls(
            op.op_type,
            number("filter_size", None),
            number("dilation", 2 if op.op_type == "dilated_convolution" else 1),
            number("depth_multiplier", 1),
        )

    def parameter_count(self, channels: int, stride: int) -> int:
        c, k2 = channels, self.size * self.size
        if self.op_type == "separable_convolution":
            mid = c * self.depth_multiplier
            return 2 * (k2 * mid + mid * c + 2 * c)  # applied twice
        if self.op_type in ("convolution", "dilated_convolution"):
            return k2 * c * c + 2 * c
        if self.op_type == "identity" and stride == 2:
            return factorized_reduce_parameters(c, c)
        return 0


def factorized_reduce_parameters(in_channels: int, out_channels: int) -> int:
    half = out_channels // 2
    return in_channels * half + in_channels * (out_channels - half) + 2 * out_channels


@dataclass(frozen=True)
class CellPlan:
    index: int
    reduction: bool
    channels: int  # of every node, and of the cell's output
    in_size: tuple[int, int]  # of the previous cell's output
    out_size: tuple[int, int]
    prev_prev_channels: int
    prev_channels: int
    prev_prev_reduce: bool  # the cell two back is twice as large: factorized reduction


@dataclass(frozen=True)
class MicroPlan:
    architecture: MicroArchitecture
    config: MicroConfig
    ops: dict[int, MicroOp]
    in_channels: int
    in_size: tuple[int, int]
    num_classes: int
    stem_channels: int
    cells: tuple[CellPlan, ...]

    @property
    def depth(self) -> int:
        return len(self.cells)

    def cell_of(self, plan: CellPlan) -> str:
        return "reduction" if plan.reduction else "normal"

    def parameter_count(self) -> int:
        total = 9 * self.in_channels * self.stem_channels + 2 * self.stem_channels
        for cell in self.cells:
            c = cell.channels
            if cell.prev_prev_reduce:
                total += factorized_reduce_parameters(cell.prev_prev_channels, c)
            else:
                total += cell.prev_prev_channels * c + 2 * c
            total += cell.prev_channels * c + 2 * c
            arch = self.architecture.reduction if cell.reduction else self.architecture.normal
            for node in arch.nodes:
                for index, op in zip(node.inputs, node.ops, strict=True):
                    stride = 2 if cell.reduction and index < 2 else 1
                    total += self.ops[op].parameter_count(c, stride)
            total += len(arch.unused()) * c * c + 2 * c
        last = self.cells[-1].channels
        return total + last * self.num_classes + self.num_classes

    def describe(self) -> list[str]:
        lines = [f"stem: conv 3x3 -> {self.stem_channels} channels"]
        lines += describe_cells(self.architecture, self.config.embedding)
        for stacked in self.cells:
            h, w = stacked.out_size
            lines.append(
                f"cell {stacked.index}: {self.cell_of(stacked)}, {stacked.channels} channels, "
                f"{h}x{w}"
            )
        return lines


def plan_micro(architecture: MicroArchitecture, config: MicroConfig) -> MicroPlan:
    """Check that the assignments agree and work out every cell's channels and sizes."""
    check_pair(architecture, config)
    in_channels, height, width = image_shape(config.input_sizes)
    num_classes = class_count(config.output_sizes)
    ops = {
        op_id: MicroOp.from_operation(op, f"nn_config.embedding[{str(op_id)!r}]")
        for op_id, op in config.embedding.items()
    }
    stem = config.init_channels * config.stem_multiplier
    reductions = reduction_positions(config.num_cells)
    size = (height, width)
    prev_prev, prev, channels = stem, stem, config.init_channels
    prev_reduced = False
    cells = []
    for index in range(config.num_cells):
        reduction = index in reductions
        if reduction:
            channels *= 2
        if channels > MAX_CHANNELS:
            raise InvalidArchitectureError(
                f"nn_config.init_channels: {config.init_channels} grows to {channels} channels "
                f"(more than {MAX_CHANNELS}); use fewer channels"
            )
        out = (math.ceil(size[0] / 2), math.ceil(size[1] / 2)) if reduction else size
        cells.append(CellPlan(index, reduction, channels, size, out, prev_prev, prev, prev_reduced))
        prev_prev, prev, size, prev_reduced = prev, channels, out, reduction
    return MicroPlan(
        architecture,
        config,
        ops,
        in_channels,
        (height, width),
        num_classes,
        stem,
        tuple(cells),
    )
