"""Where a macro child's parameters live in the supernet.

Each (layer, operation) has its own tensors (`layer_scope`). With summed skips (`skip_rule:
sum`, ENAS's supernet) a layer's operation reads the previous layer's width whatever the skips,
so its convolution is one block keyed by that width (`x<width>`): in a space whose operations
share one width, exactly one weight set per (layer, operation). With concatenated skips (the
stock rule) a convolution reads the concatenation of its inputs, whose widths depend on the
skip pattern, so its input dimension is one block per input, keyed by the input's position
(`in0` the image, `in<k+1>` layer k) and width: every child that feeds layer i's operation from
the same input at the same width trains the same block; such a store grows with the patterns
the search visits. BatchNorm's affine parameters are shared the same way; its running
statistics are not (the trial recomputes them for its child). The stem (summed skips only) is
one set; the head is keyed by the width it reads.
"""

from __future__ import annotations

from torch import nn

from enas_trial.builders.macro.model import ChildLayer, ChildNetwork
from enas_trial.builders.macro.plan import CONVOLUTION, DEPTHWISE, SEPARABLE, NetworkPlan
from enas_trial.sharing.blocks import SharedTensor, module_tensors, side_by_side, whole
from katib_enas.core.spaces.macro.format import HEAD_SCOPE, STEM_SCOPE, layer_scope


def shared_tensors(model: ChildNetwork, plan: NetworkPlan) -> list[SharedTensor]:
    out: list[SharedTensor] = []
    if model.stem is not None:
        out += module_tensors(STEM_SCOPE, model.stem)
    for layer, child_layer in zip(plan.layers, model.layers, strict=True):
        widths = [
            (f"in{i + 1}x{plan.in_channels if i < 0 else plan.layers[i].out_channels}",
             plan.in_channels if i < 0 else plan.layers[i].out_channels)
            for i in layer.inputs
        ]  # fmt: skip
        if layer.summed:
            widths = [(f"x{layer.in_channels}", layer.in_channels)]
        prefix = layer_scope(layer.index, layer.op_id)
        assert isinstance(child_layer, ChildLayer)
        convs = [m for m in child_layer.op.children() if isinstance(m, nn.Conv2d)]
        norms = [m for m in child_layer.op.children() if isinstance(m, nn.BatchNorm2d)]
        multiplier = layer.op.depth_multiplier
        per_input_mid = [(name, width * multiplier) for name, width in widths]
        if layer.op.op_type == CONVOLUTION:
            out.append(side_by_side(prefix + "conv/", convs[0].weight, 1, widths))
        elif layer.op.op_type in (SEPARABLE, DEPTHWISE):
            out.append(side_by_side(prefix + "depthwise/", convs[0].weight, 0, per_input_mid))
            if layer.op.op_type == SEPARABLE:
                out.append(side_by_side(prefix + "pointwise/", convs[1].weight, 1, per_input_mid))
        for norm in norms:
            if layer.op.op_type == DEPTHWISE:  # normalises the per-input channels
                out.append(side_by_side(prefix + "bn.weight/", norm.weight, 0, per_input_mid))
                out.append(side_by_side(prefix + "bn.bias/", norm.bias, 0, per_input_mid))
            else:
                out += module_tensors(prefix + "bn.", norm)
    last = plan.layers[-1].out_channels
    out.append(whole(f"{HEAD_SCOPE}weight/w{last}", model.classifier.weight))
    out.append(whole(f"{HEAD_SCOPE}bias", model.classifier.bias))
    return out
