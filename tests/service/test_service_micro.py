"""A micro (cell) Experiment over the real gRPC server, as a stock Katib v0.19 sends it: valid
cells that the trial can decode, and bad micro configurations refused with the field named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_service import Running, assignments_of

from katib_enas.core.spaces.catalogue import MICRO_OPERATION_TYPES
from katib_enas.core.spaces.micro.format import check_pair, decode_architecture, decode_nn_config
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message


@pytest.fixture(scope="module")
def micro_experiment(repo_root: Path) -> Any:
    return experiment_message(load_experiment(repo_root / "manifests/local/digits-micro.yaml"))


def _request(experiment: Any, count: int) -> Any:
    return pb.GetSuggestionsRequest(
        experiment=experiment, current_request_number=count, total_request_number=count
    )


def test_micro_suggestions_are_cells_the_trial_decodes(
    service: Running, micro_experiment: Any
) -> None:
    reply = service.suggestion.GetSuggestions(_request(micro_experiment, 4), timeout=60)
    for assignments in assignments_of(reply):
        assert set(assignments) == {"architecture", "nn_config"}
        architecture = decode_architecture(assignments["architecture"])
        config = decode_nn_config(assignments["nn_config"], MICRO_OPERATION_TYPES)
        check_pair(architecture, config)
        assert (config.num_cells, config.num_nodes, config.init_channels) == (3, 4, 8)
        for cell in architecture.cells:
            assert len(cell.nodes) == 4
            for index, node in enumerate(cell.nodes):
                assert all(0 <= i < index + 2 for i in node.inputs)


def _setting(name: str, value: str) -> Callable[[Any], None]:
    def change(experiment: Any) -> None:
        for setting in experiment.spec.algorithm.algorithm_settings:
            if setting.name == name:
                setting.value = value
                return
        experiment.spec.algorithm.algorithm_settings.add(name=name, value=value)

    return change


def _operation(op_type: str, parameter: str, values: list[str]) -> Callable[[Any], None]:
    def change(experiment: Any) -> None:
        operation = experiment.spec.nas_config.operations.operation.add(operation_type=op_type)
        added = operation.parameter_specs.parameters.add(
            name=parameter, parameter_type=pb.CATEGORICAL
        )
        added.feasible_space.list.extend(values)

    return change


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_setting("num_nodes", "0"), "algorithmSettings.num_nodes: '0' is out of range"),
        (_setting("init_channels", "many"), "algorithmSettings.init_channels"),
        (
            _operation("depthwise_convolution", "filter_size", ["3"]),
            "nasConfig.operations[3]: unknown operation type 'depthwise_convolution'",
        ),
        (
            _operation("convolution", "filter_size", ["3", "4"]),
            "nasConfig.operations[3].filter_size: '4' must be odd",
        ),
        (
            _operation("convolution", "num_filter", ["16"]),
            "unknown parameter 'num_filter' for convolution",
        ),
        (
            lambda e: e.spec.nas_config.graph_config.input_sizes.__delitem__(slice(1, None)),
            "nasConfig.graphConfig.inputSizes: the micro space builds image networks",
        ),
        (_setting("search_space", "nano"), "algorithmSettings.search_space"),
    ],
    ids=["zero-nodes", "channels-word", "unbuildable-op", "even-window", "macro-param",
         "one-input-size", "unknown-kind"],
)  # fmt: skip
def test_bad_micro_experiments_get_invalid_argument_naming_the_field(
    service: Running, micro_experiment: Any, mutate: Callable[[Any], None], message: str
) -> None:
    experiment = copy.deepcopy(micro_experiment)
    mutate(experiment)
    for call in (
        lambda: service.suggestion.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=10
        ),
        lambda: service.suggestion.GetSuggestions(_request(experiment, 2), timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (info.value.details() or ""), info.value.details()
