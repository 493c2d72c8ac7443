"""Test support for weight sharing: a weight-sharing Experiment's children from a real server,
and real children's networks with their supernet tensors, as a trial builds them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from grpc_service import Running, assignments_of
from torch import nn

from enas_trial.builders import BUILDERS, builder_for
from enas_trial.sharing.blocks import SharedTensor
from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message
from katib_enas.v1 import shared_weights_pb2 as sw

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIGITS = REPO_ROOT / "manifests" / "local" / "digits-shared.yaml"


def shared_experiment(path: Path = SHARED_DIGITS) -> Any:
    """The Experiment as Katib sends it (`api.v1.beta1.Experiment`)."""
    return experiment_message(load_experiment(path))


def children(service: Running, experiment: Any, count: int) -> list[sw.Child]:
    return children_of(service.suggestion, experiment, count)


def children_of(suggestion: Any, experiment: Any, count: int) -> list[sw.Child]:
    """`count` children suggested by the Suggestion stub `suggestion`."""
    request = pb.GetSuggestionsRequest(
        experiment=experiment, current_request_number=count, total_request_number=count
    )
    reply = suggestion.GetSuggestions(request, timeout=60)
    return [
        sw.Child(
            experiment=experiment.name, architecture=a["architecture"], nn_config=a["nn_config"]
        )
        for a in assignments_of(reply)
    ]


@dataclass
class Network:
    model: nn.Module
    tensors: list[SharedTensor]


def network(child: sw.Child, seed: int = 0) -> Network:
    """The child's network as the trial builds it, and its supernet tensors."""
    builder = builder_for(child.nn_config)
    assert builder in BUILDERS.values()
    plan = builder.plan(child.architecture, child.nn_config)
    torch.manual_seed(seed)
    model = builder.build(plan, 0.0)
    return Network(model, builder.shared_tensors(model, plan))
