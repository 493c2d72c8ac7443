"""Op ids and assignment formats agree with Katib's stock `enas` service for the same YAML."""

from __future__ import annotations

import ast
import json
import shlex
import subprocess
import sys

import pytest

from katib_enas.core.errors import InvalidArchitectureError, InvalidSearchSpaceError
from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import (
    Architecture,
    check_pair,
    decode_architecture,
    decode_nn_config,
)
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
)

CAT = ParameterType.CATEGORICAL


def test_stock_gpu_example_numbers_106_operations_like_katib(gpu_space: MacroSpace) -> None:
    ops = gpu_space.operations
    assert gpu_space.num_operations == 106
    assert gpu_space.num_layers == 8
    assert ops[0].to_embedding() == {
        "opt_id": 0,
        "opt_type": "convolution",
        "opt_params": {"filter_size": "3", "num_filter": "32", "stride": "1"},
    }
    assert ops[29].param_dict == {"filter_size": "7", "num_filter": "128", "stride": "2"}
    assert {op.op_type for op in ops[30:90]} == {"separable_convolution"}
    assert {op.op_type for op in ops[90:102]} == {"depthwise_convolution"}
    # int parameters become numbers, categorical ones stay strings, as in the stock service
    assert ops[102].param_dict == {"reduction_type": "max_pooling", "pool_size": 2}
    assert ops[105].param_dict == {"reduction_type": "avg_pooling", "pool_size": 3}


def test_architecture_and_nn_config_in_stock_format(gpu_space: MacroSpace) -> None:
    rows = [[17], [90, 1], [104, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1, 1]]
    rows += [[2] + [0] * 5, [3] + [1] * 6, [105] + [0] * 7]
    arch = Architecture.from_rows(rows)
    value = arch.encode()
    assert value.startswith("[[17],[90,1],[104,0,1],")
    assert '"' not in value
    assert json.loads(value.replace("'", '"')) == rows

    config = gpu_space.encode(arch)["nn_config"]
    assert '"' not in config
    decoded = json.loads(config.replace("'", '"'))
    assert decoded["num_layers"] == 8
    assert decoded["input_sizes"] == [32, 32, 3]
    assert decoded["output_sizes"] == [10]
    assert sorted(decoded["embedding"], key=int) == ["0", "1", "2", "3", "17", "90", "104", "105"]
    assert decoded["embedding"]["17"] == {
        "opt_id": 17,
        "opt_type": "convolution",
        "opt_params": {"filter_size": "5", "num_filter": "96", "stride": "2"},
    }
    assert decoded["embedding"]["104"]["opt_params"] == {
        "reduction_type": "avg_pooling",
        "pool_size": 2,
    }
    # and our own decoder (the trial's) reads both back
    back = decode_nn_config(config)
    check_pair(decode_architecture(value), back)
    assert back.embedding[90].op_type == "depthwise_convolution"


def test_values_survive_katib_substitution_and_sh(gpu_space: MacroSpace) -> None:
    """Katib substitutes into a JSON-serialised template, then `sh -c` joins the args."""
    arch = Architecture.from_rows([[i * 13 % 106] + [1] * i for i in range(8)])
    values = {"a": arch.encode(), "n": gpu_space.encode(arch)["nn_config"]}
    template = json.dumps(
        {"args": ['--architecture="${trialParameters.a}"', '--nn_config="${trialParameters.n}"']}
    )
    for name, value in values.items():
        template = template.replace(f"${{trialParameters.{name}}}", value)
    args = json.loads(template)["args"]  # still valid JSON: the values are JSON-string-safe
    script = f"{shlex.quote(sys.executable)} -c 'import sys; print(sys.argv[1:])' " + " ".join(args)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    argv = ast.literal_eval(out)
    assert argv == [f"--architecture={values['a']}", f"--nn_config={values['n']}"]
    assert decode_architecture(argv[0].split("=", 1)[1]) == arch


def _space(*params: ParameterSpec, op_type: str = "convolution") -> MacroSpace:
    return MacroSpace.from_nas_config(
        NasConfig(GraphConfig(2, (8, 8, 1), (10,)), (OperationSpec(op_type, params),))
    )


def test_double_range_has_no_overshoot_and_int_needs_no_step() -> None:
    space = _space(
        ParameterSpec("filter_size", ParameterType.DOUBLE, "3", "6", "2"),  # stock: 3, 5, 7
        ParameterSpec("num_filter", ParameterType.INT, "16", "18"),  # stock: crashes
        ParameterSpec("stride", ParameterType.DISCRETE, values=("1", "2")),  # stock: dropped
    )
    params = [op.param_dict for op in space.operations]
    assert [p["filter_size"] for p in params[::6]] == [3.0, 5.0]
    assert sorted({p["num_filter"] for p in params}) == [16, 17, 18]
    assert sorted({p["stride"] for p in params}) == [1, 2]
    assert space.num_operations == 2 * 3 * 2


def test_double_range_with_inexact_step_keeps_the_end() -> None:
    spec = ParameterSpec("x", ParameterType.DOUBLE, "0.1", "0.3", "0.1")
    assert spec.expand("x") == (0.1, 0.2, 0.3)


@pytest.mark.parametrize(
    ("params", "op_type", "message"),
    [
        ((ParameterSpec("filter_size", CAT, values=("3",)),), "warp_drive", "unknown operation"),
        ((ParameterSpec("filter_size", CAT, values=("3",)),), "convolution", "num_filter"),
        (
            (
                ParameterSpec("filter_size", CAT, values=("3",)),
                ParameterSpec("num_filter", CAT, values=("8",)),
                ParameterSpec("dilation", CAT, values=("2",)),
            ),
            "convolution",
            "unknown parameter 'dilation'",
        ),
        ((ParameterSpec("reduction_type", CAT, values=("median",)),), "reduction", "median"),
        ((ParameterSpec("filter_size", CAT, values=('3"; rm -rf',)),), "convolution", "not safe"),
        ((ParameterSpec("filter_size", CAT, values=()),), "convolution", "list is empty"),
        ((ParameterSpec("filter_size", ParameterType.INT, "5", "3"),), "convolution", "max 3"),
        ((ParameterSpec("filter_size", ParameterType.DOUBLE, "1", "3"),), "convolution", "step"),
        ((ParameterSpec("filter_size", ParameterType.INT, "x", "3"),), "convolution", "'x'"),
    ],
)
def test_bad_operations_are_rejected_with_the_field(
    params: tuple[ParameterSpec, ...], op_type: str, message: str
) -> None:
    with pytest.raises(InvalidSearchSpaceError, match=r"nasConfig\.operations\[0\]") as error:
        _space(*params, op_type=op_type)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (GraphConfig(0, (8, 8, 1), (10,)), "numLayers"),
        (GraphConfig(2, (), (10,)), "inputSizes"),
        (GraphConfig(2, (8,), ()), "outputSizes"),
    ],
)
def test_bad_graphs_are_rejected(graph: GraphConfig, message: str) -> None:
    ops = (
        OperationSpec(
            "reduction",
            (
                ParameterSpec("reduction_type", CAT, values=("max_pooling",)),
                ParameterSpec("pool_size", CAT, values=("2",)),
            ),
        ),
    )
    with pytest.raises(InvalidSearchSpaceError, match=message):
        MacroSpace.from_nas_config(NasConfig(graph, ops))
    with pytest.raises(InvalidSearchSpaceError, match="operations is empty"):
        MacroSpace.from_nas_config(NasConfig(GraphConfig(2, (8,), (10,)), ()))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[[0],[1]", "not valid JSON"),
        ("[[0],[1,0,1]]", "architecture\\[1\\]"),
        ("[[0],[1,2]]", "skip bits"),
        ("[]", "non-empty"),
        ("[[0],['a',1]]", "integers"),
    ],
)
def test_malformed_architectures_name_the_problem(value: str, message: str) -> None:
    with pytest.raises(InvalidArchitectureError, match=message):
        decode_architecture(value)


def test_architecture_wrapped_in_literal_quotes_decodes() -> None:
    """Under the Push collector the YAML's literal `"` reach argv."""
    assert decode_architecture('"[[3],[1,1]]"').to_rows() == [[3], [1, 1]]


def test_op_ids_outside_the_space_are_rejected(gpu_space: MacroSpace) -> None:
    arch = Architecture.from_rows([[106]] + [[0] + [0] * i for i in range(1, 8)])
    with pytest.raises(InvalidArchitectureError, match="outside the search space"):
        gpu_space.decode({"architecture": arch.encode()})
