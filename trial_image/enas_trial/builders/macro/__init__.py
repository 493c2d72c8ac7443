"""The macro kind's builder: a `NetworkPlan` of layers (pure), then a `ChildNetwork` (torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enas_trial.builders.base import Builder
from enas_trial.builders.macro.plan import NetworkPlan, plan_network
from katib_enas.core.spaces.macro.format import decode_architecture, decode_nn_config

if TYPE_CHECKING:
    from torch import nn

    from enas_trial.sharing.blocks import SharedTensor


class MacroBuilder(Builder):
    kind = "macro"
    modules = ("enas_trial.builders.macro.model",)

    def plan(self, architecture: str, nn_config: str) -> NetworkPlan:
        return plan_network(decode_architecture(architecture), decode_nn_config(nn_config))

    def build(self, plan: NetworkPlan, dropout: float) -> nn.Module:
        from enas_trial.builders.macro.model import ChildNetwork

        return ChildNetwork(plan, dropout)

    def shared_tensors(self, model: nn.Module, plan: NetworkPlan) -> list[SharedTensor]:
        from enas_trial.builders.macro.model import ChildNetwork
        from enas_trial.builders.macro.sharing import shared_tensors

        assert isinstance(model, ChildNetwork)
        return shared_tensors(model, plan)


__all__ = ["MacroBuilder", "NetworkPlan", "plan_network"]
