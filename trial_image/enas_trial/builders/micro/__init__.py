"""The micro kind's builder: a `MicroPlan` of cells (pure), then a `MicroNetwork` (torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enas_trial.builders.base import Builder
from enas_trial.builders.micro.plan import MicroPlan, plan_micro
from katib_enas.core.spaces.catalogue import MICRO_OPERATION_TYPES
from katib_enas.core.spaces.micro.format import decode_architecture, decode_nn_config

if TYPE_CHECKING:
    from torch import nn

    from enas_trial.sharing.blocks import SharedTensor


class MicroBuilder(Builder):
    kind = "micro"
    modules = ("enas_trial.builders.micro.model",)

    def plan(self, architecture: str, nn_config: str) -> MicroPlan:
        config = decode_nn_config(nn_config, MICRO_OPERATION_TYPES)
        return plan_micro(decode_architecture(architecture), config)

    def build(self, plan: MicroPlan, dropout: float) -> nn.Module:
        from enas_trial.builders.micro.model import MicroNetwork

        return MicroNetwork(plan, dropout)

    def shared_tensors(self, model: nn.Module, plan: MicroPlan) -> list[SharedTensor]:
        from enas_trial.builders.micro.model import MicroNetwork
        from enas_trial.builders.micro.sharing import shared_tensors

        assert isinstance(model, MicroNetwork)
        return shared_tensors(model, plan)


__all__ = ["MicroBuilder", "MicroPlan", "plan_micro"]
