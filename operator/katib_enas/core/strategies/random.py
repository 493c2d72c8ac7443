"""Uniform random search over the same space: the baseline every ENAS claim is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from katib_enas.core.katib import Objective
from katib_enas.core.settings_schema import EnasSettings
from katib_enas.core.spaces import Space
from katib_enas.core.strategies.base import LearnReport, SearchStrategy, mix_seed
from katib_enas.core.trials import Judgement

A = TypeVar("A")


class RandomStrategy(SearchStrategy[A], Generic[A]):
    """Every decision uniform (`Space.sample_uniform`); learns nothing."""

    name = "random"
    owned_settings = ()  # it learns nothing, so it reads no setting of its own

    def __init__(self, space: Space[A], objective: Objective, settings: EnasSettings) -> None:
        super().__init__(space, objective, settings)

    def suggest(self, count: int, key: int) -> list[A]:
        import torch  # here, not at the top: the settings catalogue imports this module

        generator = torch.Generator().manual_seed(mix_seed(self.settings.seed, key))
        return [self.space.sample_uniform(generator) for _ in range(count)]

    def _learn(self, architecture: A, judgement: Judgement, report: LearnReport) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {"strategy": self.name, "learned": self._learned_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("strategy") != self.name:
            raise ValueError("saved state belongs to another strategy")
        self._restore_learned(state["learned"])
