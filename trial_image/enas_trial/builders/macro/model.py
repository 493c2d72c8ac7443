"""The child network in PyTorch, built layer by layer from a `NetworkPlan`.

Each convolution is pre-activation (ReLU, op, BatchNorm) as in Katib's stock Keras ops, except in
the first layer when it reads the normalised image, whose negative half a ReLU would throw away
(with summed skips a stem convolution reads the image, and layer 0 is like the others).
Reductions pool their input as it is, as the stock ops do. The head is ReLU, global average
pooling, optional dropout and one linear layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from enas_trial.builders.macro.plan import (
    CONVOLUTION,
    DEPTHWISE,
    REDUCTION,
    SEPARABLE,
    STEM_KERNEL,
    LayerPlan,
    NetworkPlan,
)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding that gives `ceil(size / stride)` outputs, TensorFlow style."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _padded_conv(layer: LayerPlan, in_c: int, out_c: int, *, groups: int) -> list[nn.Module]:
    kernel, stride = layer.op.filter_size, layer.op.stride
    (top, bottom) = _same_padding(layer.in_size[0], kernel, stride)
    (left, right) = _same_padding(layer.in_size[1], kernel, stride)
    if top == bottom and left == right:
        return [nn.Conv2d(in_c, out_c, kernel, stride, (top, left), groups=groups, bias=False)]
    # Even kernels (or odd sizes with stride) need asymmetric padding, which Conv2d cannot do.
    return [
        nn.ZeroPad2d((left, right, top, bottom)),
        nn.Conv2d(in_c, out_c, kernel, stride, 0, groups=groups, bias=False),
    ]


def build_op(layer: LayerPlan) -> nn.Sequential:
    """The operation of `layer` (without the leading ReLU), honouring every parameter."""
    op = layer.op
    in_c = layer.in_channels
    modules: list[nn.Module]
    if op.op_type == CONVOLUTION:
        modules = _padded_conv(layer, in_c, op.num_filter, groups=1)
        modules.append(nn.BatchNorm2d(op.num_filter))
    elif op.op_type == SEPARABLE:
        mid = in_c * op.depth_multiplier
        modules = _padded_conv(layer, in_c, mid, groups=in_c)
        modules += [nn.Conv2d(mid, op.num_filter, 1, bias=False), nn.BatchNorm2d(op.num_filter)]
    elif op.op_type == DEPTHWISE:
        mid = in_c * op.depth_multiplier
        modules = _padded_conv(layer, in_c, mid, groups=in_c)
        modules.append(nn.BatchNorm2d(mid))
    elif op.reduction_type == "max_pooling":
        modules = [nn.MaxPool2d(op.pool_size, op.pool_size, ceil_mode=True)]
    else:
        modules = [
            nn.AvgPool2d(op.pool_size, op.pool_size, ceil_mode=True, count_include_pad=False)
        ]
    return nn.Sequential(*modules)


class ChildLayer(nn.Module):
    """One layer: align and combine its inputs (concatenated or summed), then apply its
    operation."""

    def __init__(self, layer: LayerPlan, activate: bool) -> None:
        super().__init__()
        self.inputs = layer.inputs
        self.summed = layer.summed
        self.width = layer.in_channels
        self.size = layer.in_size
        self.activate = activate
        self.op = build_op(layer)

    def forward(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        parts = []
        for index in self.inputs:
            part = outputs[index + 1]  # outputs[0] is the network input
            if part.shape[-2:] != self.size:
                part = F.adaptive_avg_pool2d(part, self.size)
            parts.append(part)
        if len(parts) == 1:
            x = parts[0]
        elif self.summed:
            x = parts[0]
            for part in parts[1:]:
                x = x + _fit_width(part, self.width)
        else:
            x = torch.cat(parts, dim=1)
        if self.activate:
            x = F.relu(x)
        out: torch.Tensor = self.op(x)
        return out


def _fit_width(x: torch.Tensor, width: int) -> torch.Tensor:
    """`x` with exactly `width` channels: zero channels added, or the extra ones cut."""
    channels = x.shape[1]
    if channels == width:
        return x
    if channels > width:
        return x[:, :width]
    return F.pad(x, (0, 0, 0, 0, 0, width - channels))


class ChildNetwork(nn.Module):
    """The macro child network described by a `NetworkPlan`."""

    def __init__(self, plan: NetworkPlan, dropout: float = 0.0) -> None:
        super().__init__()
        self.plan = plan
        self.stem: nn.Module | None = None
        if plan.stem_width is not None:
            self.stem = nn.Sequential(
                nn.Conv2d(
                    plan.in_channels, plan.stem_width, STEM_KERNEL, 1, STEM_KERNEL // 2, bias=False
                ),
                nn.BatchNorm2d(plan.stem_width),
            )
        first = self.stem is not None
        self.layers = nn.ModuleList(
            ChildLayer(layer, activate=(index > 0 or first) and layer.op.op_type != REDUCTION)
            for index, layer in enumerate(plan.layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(plan.layers[-1].out_channels, plan.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem is not None:
            x = self.stem(x)
        outputs = [x]
        for layer in self.layers:
            outputs.append(layer(outputs))
        features = F.adaptive_avg_pool2d(F.relu(outputs[-1]), 1).flatten(1)
        logits: torch.Tensor = self.classifier(self.dropout(features))
        return logits
