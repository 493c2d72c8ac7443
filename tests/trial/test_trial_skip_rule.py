"""Summed skips (`nn_config.skip_rule: sum`, ENAS's own macro child): the supernet holds one
weight set per (layer, operation) whatever the skip pattern, so the store is bounded by the
space, not by the number of children; and the child is the same network wherever it is built
(the shared trial, derive, retrain, export)."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from fashion_bench import uniform_architectures
from shared_support import REPO_ROOT, network

from enas_trial.builders import builder_for
from enas_trial.sharing.blocks import block_shapes
from katib_enas.core.katib import from_katib_json
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.v1 import shared_weights_pb2 as sw

FASHION = REPO_ROOT / "manifests" / "local" / "fashion-shared.yaml"
CIFAR_SHARED = REPO_ROOT / "manifests" / "experiments" / "enas-macro-cifar10-shared-gpu.yaml"


def _keys(path: Path, count: int) -> tuple[set[str], list[dict[str, str]]]:
    children = uniform_architectures(path, count, 3)
    keys: set[str] = set()
    for assignments in children:
        child = sw.Child(
            architecture=assignments["architecture"], nn_config=assignments["nn_config"]
        )
        keys |= set(block_shapes(network(child).tensors))
    return keys, children


def test_weight_sharing_experiments_sum_their_skips() -> None:
    _, children = _keys(FASHION, 3)
    assert all(from_katib_json(c["nn_config"])["skip_rule"] == "sum" for c in children)


def _first_convolutions(keys: set[str]) -> dict[str, list[str]]:
    """Per (layer, operation) scope, its first convolution's tensors (one per input width)."""
    scopes: dict[str, list[str]] = {}
    for key in keys:
        scope, _, rest = key.rpartition("/op")
        if key.startswith("macro/layer") and rest.split("/")[1] in ("conv", "depthwise"):
            scopes.setdefault(f"{scope}/op{rest.split('/')[0]}", []).append(key)
    return scopes


def test_one_weight_set_per_layer_and_operation_whatever_the_skips() -> None:
    keys, children = _keys(FASHION, 60)
    rows = [row for c in children for row in from_katib_json(c["architecture"])]
    assert sum(row[1:].count(1) >= 2 for row in rows) >= 10  # many skip patterns ran
    scopes = _first_convolutions(keys)
    assert all(len(tensors) == 1 for tensors in scopes.values()), scopes
    assert len(scopes) <= 6 * 4  # 6 layers x 4 operations with weights: the whole supernet


def test_the_shipped_cifar_shared_store_is_bounded_by_its_space() -> None:
    keys, _ = _keys(CIFAR_SHARED, 300)
    doc = yaml.safe_load(CIFAR_SHARED.read_text())
    layers = doc["spec"]["nasConfig"]["graphConfig"]["numLayers"]
    scopes = _first_convolutions(keys)
    assert all(len(tensors) == 1 for tensors in scopes.values())
    assert len(scopes) <= layers * 4  # 4 operations with weights of 6


def test_a_derived_child_retrains_as_the_same_network() -> None:
    [assignments] = uniform_architectures(FASHION, 1, 11)
    shared = sw.Child(architecture=assignments["architecture"], nn_config=assignments["nn_config"])
    retrain = strip_sharing(assignments["nn_config"])  # what derive, retrain and export build
    builder = builder_for(retrain)
    plans = [builder.plan(assignments["architecture"], c) for c in (shared.nn_config, retrain)]
    assert plans[0].describe() == plans[1].describe()
    alone = builder.build(plans[1], 0.0)
    with_store = network(shared).model
    assert [(n, p.shape) for n, p in alone.state_dict().items()] == [
        (n, p.shape) for n, p in with_store.state_dict().items()
    ]
    x = torch.zeros(2, 1, 28, 28)
    assert alone(x).shape == with_store(x).shape == (2, 10)
