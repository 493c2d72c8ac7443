"""The child network builder: every operation parameter shows in the built module."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch
from torch import nn
from trial_support import assignments, katib_json, nn_config

from enas_trial.builders.macro.model import ChildNetwork
from enas_trial.builders.macro.plan import NetworkPlan, plan_network
from enas_trial.training import parameter_count
from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import Architecture, decode_architecture, decode_nn_config


def build(
    rows: list[list[int]],
    operations: list[dict[str, Any]],
    sizes: tuple[int, int, int] = (32, 32, 3),
) -> tuple[NetworkPlan, ChildNetwork]:
    plan = plan_network(
        decode_architecture(katib_json(rows)),
        decode_nn_config(nn_config(operations, list(sizes), num_layers=len(rows))),
    )
    return plan, ChildNetwork(plan).eval()


def conv(k: int, n: int, s: int | None = None) -> dict[str, Any]:
    params = {"filter_size": str(k), "num_filter": str(n)}
    if s is not None:
        params["stride"] = str(s)
    return {"opt_type": "convolution", "opt_params": params}


def sep(k: int, n: int, s: int = 1, m: int = 1) -> dict[str, Any]:
    params = {"filter_size": str(k), "num_filter": str(n), "stride": str(s)}
    return {
        "opt_type": "separable_convolution",
        "opt_params": {**params, "depth_multiplier": str(m)},
    }


def dw(k: int, s: int = 1, m: int = 1) -> dict[str, Any]:
    params = {"filter_size": str(k), "stride": str(s), "depth_multiplier": str(m)}
    return {"opt_type": "depthwise_convolution", "opt_params": params}


def pool(kind: str, size: int) -> dict[str, Any]:
    return {"opt_type": "reduction", "opt_params": {"reduction_type": kind, "pool_size": str(size)}}


def layer_outputs(net: ChildNetwork, x: torch.Tensor) -> list[torch.Tensor]:
    outputs = [x]
    with torch.no_grad():
        for layer in net.layers:
            outputs.append(layer(outputs))
    return outputs[1:]


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize(("k", "n", "s", "out"), [(3, 32, 1, 32), (5, 48, 2, 16), (7, 128, 2, 16)])
def test_convolution_honours_filter_size_filters_and_stride(
    k: int, n: int, s: int, out: int
) -> None:
    plan, net = build([[0]], [conv(k, n, s)])
    (only,) = convs(net.layers[0])
    assert only.kernel_size == (k, k) and only.stride == (s, s) and only.out_channels == n
    (y,) = layer_outputs(net, torch.randn(2, 3, 32, 32))
    assert y.shape == (2, n, out, out)
    assert parameter_count(net) == plan.parameter_count() == k * k * 3 * n + 2 * n + n * 10 + 10


def test_stride_defaults_to_one_when_absent() -> None:
    _, net = build([[0]], [conv(3, 16)])
    assert layer_outputs(net, torch.randn(1, 3, 32, 32))[0].shape == (1, 16, 32, 32)


@pytest.mark.parametrize("m", [1, 2])
def test_separable_convolution_honours_depth_multiplier(m: int) -> None:
    plan, net = build([[0], [1, 1]], [conv(3, 8, 1), sep(5, 24, 2, m)])
    depthwise, pointwise = convs(net.layers[1])
    assert depthwise.groups == 8 and depthwise.kernel_size == (5, 5) and depthwise.stride == (2, 2)
    assert depthwise.out_channels == 8 * m and pointwise.in_channels == 8 * m
    assert pointwise.out_channels == 24 and pointwise.kernel_size == (1, 1)
    assert layer_outputs(net, torch.randn(2, 3, 32, 32))[1].shape == (2, 24, 16, 16)
    assert parameter_count(net) == plan.parameter_count()


@pytest.mark.parametrize(("k", "s", "m"), [(3, 1, 1), (5, 2, 2), (7, 1, 2)])
def test_depthwise_convolution_multiplies_channels(k: int, s: int, m: int) -> None:
    plan, net = build([[0], [1, 0]], [conv(3, 16, 1), dw(k, s, m)])
    (depthwise,) = convs(net.layers[1])
    assert depthwise.groups == 16 and depthwise.kernel_size == (k, k)
    y = layer_outputs(net, torch.randn(2, 3, 32, 32))[1]
    assert y.shape == (2, 16 * m, 32 // s, 32 // s)
    assert parameter_count(net) == plan.parameter_count()


@pytest.mark.parametrize(
    ("kind", "size", "out"),
    [("max_pooling", 2, 16), ("avg_pooling", 2, 16), ("max_pooling", 3, 11)],
)
def test_reduction_pools_with_its_type_and_size(kind: str, size: int, out: int) -> None:
    _, net = build([[0], [1, 0]], [conv(3, 4, 1), pool(kind, size)])
    x = torch.randn(2, 3, 32, 32)
    first, reduced = layer_outputs(net, x)
    assert reduced.shape == (2, 4, out, out)
    window = first[:, :, :size, :size]
    expected = window.amax(dim=(2, 3)) if kind == "max_pooling" else window.mean(dim=(2, 3))
    torch.testing.assert_close(reduced[:, :, 0, 0], expected)


def test_max_and_avg_pooling_give_different_outputs() -> None:
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    _, net_max = build([[0], [1, 0]], [conv(3, 4, 1), pool("max_pooling", 2)])
    torch.manual_seed(0)
    _, net_avg = build([[0], [1, 0]], [conv(3, 4, 1), pool("avg_pooling", 2)])
    assert not torch.allclose(layer_outputs(net_max, x)[1], layer_outputs(net_avg, x)[1])


def test_even_filter_sizes_keep_same_padding() -> None:
    _, net = build([[0]], [conv(4, 8, 2)], (15, 15, 3))
    assert layer_outputs(net, torch.randn(1, 3, 15, 15))[0].shape == (1, 8, 8, 8)


def test_skip_bits_concatenate_earlier_layers_after_alignment() -> None:
    # layer 2 reads layer 1 (always) and layer 0 (bit 0): 16 + 8 channels, 32x32 pooled to 16x16
    plan, net = build([[0], [1, 0], [2, 1, 0]], [conv(3, 8, 1), conv(3, 16, 2), conv(1, 4, 1)])
    assert plan.layers[2].inputs == (1, 0)
    assert plan.layers[2].in_channels == 24 and plan.layers[2].in_size == (16, 16)
    assert convs(net.layers[2])[0].in_channels == 24
    no_skip, _ = build([[0], [1, 0], [2, 0, 0]], [conv(3, 8, 1), conv(3, 16, 2), conv(1, 4, 1)])
    assert no_skip.layers[2].in_channels == 16 and no_skip.layers[2].inputs == (1,)


def test_skip_bits_change_the_output_and_gradients_reach_skipped_layers() -> None:
    operations = [conv(3, 8, 1), conv(3, 8, 1), conv(3, 8, 1)]
    _, net = build([[0], [1, 0], [2, 1, 0]], operations)
    x = torch.randn(4, 3, 16, 16)
    net.train()
    net(x).sum().backward()
    first = convs(net.layers[0])[0].weight.grad
    assert first is not None and first.abs().sum() > 0
    # Zeroing layer 0's contribution through the skip changes layer 2's input, hence its output.
    outputs = layer_outputs(net.eval(), x)
    outputs_zeroed = [outputs[0] * 0, outputs[1]]
    direct = net.layers[2]([x, *outputs[:2]])
    altered = net.layers[2]([x, *outputs_zeroed])
    assert not torch.allclose(direct, altered)


def test_bit_for_the_previous_layer_does_not_duplicate_it() -> None:
    plan, _ = build([[0], [1, 1]], [conv(3, 8, 1), conv(3, 8, 1)])
    assert plan.layers[1].inputs == (0,) and plan.layers[1].in_channels == 8


def test_spatial_size_saturates_at_one_pixel() -> None:
    rows = [[0], [0, 0], [0, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1, 1]]
    plan, net = build(rows, [conv(3, 8, 2), pool("avg_pooling", 3)], (8, 8, 3))
    assert [layer.out_size for layer in plan.layers] == [(4, 4), (2, 2), (1, 1), (1, 1), (1, 1)]
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_output_size_sets_the_classes() -> None:
    plan = plan_network(
        decode_architecture("[[0]]"), decode_nn_config(nn_config([conv(3, 8)], [8, 8, 1], 7))
    )
    net = ChildNetwork(plan)
    assert net(torch.randn(3, 1, 8, 8)).shape == (3, 7)


def test_channel_explosion_is_refused_with_a_message() -> None:
    rows = [[0]] + [[0, *([1] * i)] for i in range(1, 16)]
    with pytest.raises(InvalidArchitectureError, match=r"architecture\[\d+\].*channels"):
        build(rows, [dw(3, 1, 2)], (8, 8, 3))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0], [1, 0]], r"op id\(s\) \[1\]"),  # id missing from the embedding
        ([[0], [0]], r"architecture\[1\]"),  # row of the wrong length
    ],
)
def test_inconsistent_pairs_are_refused(rows: list[list[int]], message: str) -> None:
    with pytest.raises(InvalidArchitectureError, match=message):
        build(rows, [conv(3, 8)])


def test_random_architectures_of_the_stock_106_op_space_build_and_run(
    gpu_space: MacroSpace,
) -> None:
    assert gpu_space.num_operations == 106 and gpu_space.num_layers == 8
    rng = random.Random(7)
    seen_types = set()
    for _ in range(8):
        rows = [
            [rng.randrange(gpu_space.num_operations)] + [int(rng.random() < 0.4) for _ in range(i)]
            for i in range(gpu_space.num_layers)
        ]
        architecture = Architecture.from_rows(rows)
        assert gpu_space.decode(gpu_space.encode(architecture)) == architecture
        arch_text, config_text = assignments(gpu_space, architecture)
        plan = plan_network(decode_architecture(arch_text), decode_nn_config(config_text))
        net = ChildNetwork(plan).eval()
        assert parameter_count(net) == plan.parameter_count()
        with torch.no_grad():
            logits = net(torch.randn(2, 3, 32, 32))
        assert logits.shape == (2, 10) and torch.isfinite(logits).all()
        seen_types.update(layer.op.op_type for layer in plan.layers)
    assert len(seen_types) == 4


def test_every_stock_operation_builds_with_its_shape(gpu_space: MacroSpace) -> None:
    for op in gpu_space.operations:
        architecture = Architecture.from_rows([[op.op_id]])
        arch_text, config_text = assignments_for_one_layer(gpu_space, architecture)
        plan = plan_network(decode_architecture(arch_text), decode_nn_config(config_text))
        params = op.param_dict
        stride = int(params.get("stride", params.get("pool_size", 1)))
        assert plan.layers[0].out_size == (-(-32 // stride),) * 2, op


def assignments_for_one_layer(space: MacroSpace, architecture: Architecture) -> tuple[str, str]:
    """A one-layer child using an op of `space` (the space itself has 8 layers)."""
    (op_id,) = architecture.op_ids
    embedding = {str(op_id): space.operations[op_id].to_embedding()}
    config = {
        "num_layers": 1,
        "input_sizes": [32, 32, 3],
        "output_sizes": [10],
        "embedding": embedding,
    }
    return architecture.encode(), katib_json(config)
