"""The micro child network in PyTorch, built from a `MicroPlan` (see `plan.py` for its shape)."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from enas_trial.builders.micro.plan import CellPlan, MicroOp, MicroPlan
from katib_enas.core.spaces.micro.format import Cell


class ReLUConvBN(nn.Sequential):
    def __init__(
        self, in_c: int, out_c: int, kernel: int, stride: int = 1, dilation: int = 1
    ) -> None:
        padding = dilation * (kernel // 2)
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(in_c, out_c, kernel, stride, padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_c),
        )


class SepConv(nn.Sequential):
    """ENAS's separable convolution: ReLU, depthwise, pointwise, BatchNorm - twice."""

    def __init__(self, channels: int, kernel: int, stride: int, multiplier: int) -> None:
        mid = channels * multiplier

        def block(step: int) -> list[nn.Module]:
            return [
                nn.ReLU(),
                nn.Conv2d(channels, mid, kernel, step, kernel // 2, groups=channels, bias=False),
                nn.Conv2d(mid, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
            ]

        super().__init__(*block(stride), *block(1))


class FactorizedReduce(nn.Module):
    """Half the size without losing half the pixels: two 1x1 stride-2 convolutions, one on the
    map shifted by one pixel, concatenated."""

    def __init__(self, in_c: int, out_c: int) -> None:
        super().__init__()
        self.conv_1 = nn.Conv2d(in_c, out_c // 2, 1, 2, bias=False)
        self.conv_2 = nn.Conv2d(in_c, out_c - out_c // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(out_c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # same size as x: odd sizes work too
        out: torch.Tensor = self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))
        return out


def build_op(op: MicroOp, channels: int, stride: int) -> nn.Module:
    if op.op_type == "separable_convolution":
        return SepConv(channels, op.size, stride, op.depth_multiplier)
    if op.op_type in ("convolution", "dilated_convolution"):
        return ReLUConvBN(channels, channels, op.size, stride, op.dilation)
    if op.op_type == "reduction":
        if op.pooling == "max_pooling":
            return nn.MaxPool2d(op.size, stride, op.size // 2)
        return nn.AvgPool2d(op.size, stride, op.size // 2, count_include_pad=False)
    return FactorizedReduce(channels, channels) if stride == 2 else nn.Identity()


class MicroCell(nn.Module):
    def __init__(self, plan: CellPlan, cell: Cell, ops: dict[int, MicroOp]) -> None:
        super().__init__()
        c = plan.channels
        self.prep_0: nn.Module = (
            FactorizedReduce(plan.prev_prev_channels, c)
            if plan.prev_prev_reduce
            else ReLUConvBN(plan.prev_prev_channels, c, 1)
        )
        self.prep_1 = ReLUConvBN(plan.prev_channels, c, 1)
        self.nodes = [node.inputs for node in cell.nodes]
        self.ops = nn.ModuleList(
            build_op(ops[op], c, 2 if plan.reduction and index < 2 else 1)
            for node in cell.nodes
            for index, op in zip(node.inputs, node.ops, strict=True)
        )
        self.outputs = cell.unused()
        self.combine = ReLUConvBN(len(self.outputs) * c, c, 1)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.prep_0(s0), self.prep_1(s1)]
        for number, (i1, i2) in enumerate(self.nodes):
            first, second = self.ops[2 * number], self.ops[2 * number + 1]
            states.append(first(states[i1]) + second(states[i2]))
        out: torch.Tensor = self.combine(torch.cat([states[i] for i in self.outputs], dim=1))
        return out


class MicroNetwork(nn.Module):
    """Stem, the cells, and a linear head over globally pooled features."""

    def __init__(self, plan: MicroPlan, dropout: float = 0.0) -> None:
        super().__init__()
        self.plan = plan
        self.stem = nn.Sequential(
            nn.Conv2d(plan.in_channels, plan.stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(plan.stem_channels),
        )
        arch = plan.architecture
        self.cells = nn.ModuleList(
            MicroCell(cell, arch.reduction if cell.reduction else arch.normal, plan.ops)
            for cell in plan.cells
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(plan.cells[-1].channels, plan.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        features = F.adaptive_avg_pool2d(F.relu(s1), 1).flatten(1)
        logits: torch.Tensor = self.classifier(self.dropout(features))
        return logits
