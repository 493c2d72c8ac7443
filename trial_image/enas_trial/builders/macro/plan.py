"""The child network's shape plan: what every layer reads, and its input and output shapes.

Planning is plain Python (no torch), so that the command rejects an unusable architecture in a
few milliseconds, before it pays for importing torch, and so that the torch builder only has to
follow a plan whose shapes are already known to fit.

Rules (Katib's macro format, with the stock trial's gaps closed):

- Layer i always reads the previous layer's output (the network input for layer 0) and, for each
  skip bit k = 1 with k < i - 1, the output of layer k. The bit for layer i - 1 is redundant (that
  layer is read anyway) and never duplicates it.
- Inputs are aligned spatially first: an earlier, larger map is average-pooled down to the
  previous layer's size (sizes never grow along the network, so that is always the smallest).
  Then, by `nn_config.skip_rule`: `concat` (the stock rule) puts them side by side along
  channels, previous layer first; `sum` (ENAS's macro child) adds each to the previous layer's
  output, fitted to its width (zero-padded, or cut when wider), so the operation reads the
  previous layer's width whatever the skips. With `sum`, a 3x3 convolution (`stem_width`
  filters, then BatchNorm) reads the image first, as in ENAS's child, so that layer 0 and the
  pooling layers after it read the same width as the rest of the network.
- Every operation outputs `ceil(size / stride)` per side (TensorFlow "same" padding; the stride of
  a reduction is its pool size, partial windows at the border are kept). So a 1x1 map stays 1x1:
  an architecture can never shrink the image below one pixel, and no layer is silently dropped.
- Optional parameters default to 1 (`stride`, `depth_multiplier`), as in Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from enas_trial.builders.base import class_count, image_shape
from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.spaces.macro.format import SUM, Architecture, NnConfig, check_pair
from katib_enas.core.spaces.operations import Operation, describe_operation

CONVOLUTION = "convolution"
SEPARABLE = "separable_convolution"
DEPTHWISE = "depthwise_convolution"
REDUCTION = "reduction"


@dataclass(frozen=True)
class OpSpec:
    """One operation with its parameters resolved to numbers (defaults applied)."""

    op_type: str
    filter_size: int = 1
    num_filter: int = 0
    stride: int = 1
    depth_multiplier: int = 1
    pool_size: int = 1
    reduction_type: str = ""

    @classmethod
    def from_operation(cls, op: Operation, where: str) -> OpSpec:
        params = op.param_dict

        def number(name: str, default: int | None) -> int:
            return op.number(name, default, where)

        if op.op_type == CONVOLUTION:
            return cls(
                op.op_type,
                number("filter_size", None),
                number("num_filter", None),
                number("stride", 1),
            )
        if op.op_type == SEPARABLE:
            return cls(
                op.op_type,
                number("filter_size", None),
                number("num_filter", None),
                number("stride", 1),
                number("depth_multiplier", 1),
            )
        if op.op_type == DEPTHWISE:
            return cls(
                op.op_type,
                number("filter_size", None),
                stride=number("stride", 1),
                depth_multiplier=number("depth_multiplier", 1),
            )
        if op.op_type == REDUCTION:
            pool = number("pool_size", None)
            return cls(
                op.op_type,
                stride=pool,
                pool_size=pool,
                reduction_type=str(params.get("reduction_type", "")),
            )
        raise InvalidArchitectureError(f"{where}: unknown operation type {op.op_type!r}")

    def out_channels(self, in_channels: int) -> int:
        if self.op_type in (CONVOLUTION, SEPARABLE):
            return self.num_filter
        if self.op_type == DEPTHWISE:
            return in_channels * self.depth_multiplier
        return in_channels

    def parameter_count(self, in_channels: int) -> int:
        """Trainable parameters of this op (convolutions have no bias; BatchNorm has two)."""
        k2 = self.filter_size * self.filter_size
        if self.op_type == CONVOLUTION:
            return k2 * in_channels * self.num_filter + 2 * self.num_filter
        if self.op_type == SEPARABLE:
            mid = in_channels * self.depth_multiplier
            return k2 * mid + mid * self.num_filter + 2 * self.num_filter
        if self.op_type == DEPTHWISE:
            mid = in_channels * self.depth_multiplier
            return k2 * mid + 2 * mid
        return 0


@dataclass(frozen=True)
class LayerPlan:
    """One layer: what it reads (layer indices, -1 = network input) and its shapes."""

    index: int
    op_id: int
    operation: Operation
    op: OpSpec
    inputs: tuple[int, ...]
    summed: bool  # skip inputs are added to the previous output (`skip_rule: sum`)
    in_channels: int
    in_size: tuple[int, int]
    out_channels: int
    out_size: tuple[int, int]


@dataclass(frozen=True)
class NetworkPlan:
    """The whole child: input shape (channels, height, width), layers and number of classes."""

    in_channels: int
    in_size: tuple[int, int]
    num_classes: int
    layers: tuple[LayerPlan, ...]
    stem_width: int | None = None  # the stem convolution's filters (summed skips only)

    @property
    def depth(self) -> int:
        return len(self.layers)

    def parameter_count(self) -> int:
        """Trainable parameters, the stem and the linear head included."""
        body = sum(layer.op.parameter_count(layer.in_channels) for layer in self.layers)
        if self.stem_width is not None:
            body += STEM_KERNEL**2 * self.in_channels * self.stem_width + 2 * self.stem_width
        last = self.layers[-1].out_channels
        return body + last * self.num_classes + self.num_classes

    def describe(self) -> list[str]:
        lines = []
        if self.stem_width is not None:
            h, w = self.in_size
            lines.append(
                f"stem: convolution {STEM_KERNEL}x{STEM_KERNEL}, {self.stem_width} filters "
                f"<- input -> {self.stem_width}x{h}x{w}"
            )
        for layer in self.layers:
            reads = ", ".join("input" if i < 0 else f"layer {i}" for i in layer.inputs)
            c, (h, w) = layer.out_channels, layer.out_size
            lines.append(
                f"layer {layer.index}: {describe_operation(layer.operation)} <- {reads} "
                f"-> {c}x{h}x{w}"
            )
        return lines


# A layer reading more channels than this is a search-space mistake (skips concatenating
# depthwise outputs grow geometrically); refuse it with a message instead of exhausting memory.
MAX_CHANNELS = 32_768
STEM_KERNEL = 3


def plan_network(architecture: Architecture, config: NnConfig) -> NetworkPlan:
    """Check that `architecture` and `config` agree and work out every layer's shapes."""
    check_pair(architecture, config)
    channels, height, width = image_shape(config.input_sizes)
    num_classes = class_count(config.output_sizes)
    summed = config.skip_rule == SUM
    stem = config.stem_width if summed else None
    specs = {
        op_id: OpSpec.from_operation(op, f"nn_config.embedding[{str(op_id)!r}]")
        for op_id, op in config.embedding.items()
    }
    layers: list[LayerPlan] = []
    shapes: list[tuple[int, int, int]] = []  # output (channels, height, width) per layer
    for index, layer in enumerate(architecture.layers):
        previous = index - 1
        skips = [k for k, bit in enumerate(layer.skips) if bit == 1 and k < previous]
        inputs = (previous, *skips)
        if previous < 0:
            in_c, in_h, in_w = stem or channels, height, width
        else:
            in_c, in_h, in_w = shapes[previous]
            if not summed:
                in_c += sum(shapes[k][0] for k in inputs[1:])
        if in_c > MAX_CHANNELS:
            raise InvalidArchitectureError(
                f"architecture[{index}]: its skip connections concatenate {in_c} channels "
                f"(more than {MAX_CHANNELS}); use fewer skips or fewer depthwise layers"
            )
        op = specs[layer.op_id]
        out_h, out_w = math.ceil(in_h / op.stride), math.ceil(in_w / op.stride)
        out_c = op.out_channels(in_c)
        layers.append(
            LayerPlan(
                index,
                layer.op_id,
                config.embedding[layer.op_id],
                op,
                inputs,
                summed,
                in_c,
                (in_h, in_w),
                out_c,
                (out_h, out_w),
            )
        )
        shapes.append((out_c, out_h, out_w))
    return NetworkPlan(channels, (height, width), num_classes, tuple(layers), stem)
