"""Uniform random search over the same space: the baseline every ENAS claim is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from katib_enas.core.architecture import Architecture, Layer
from katib_enas.core.enas import mix_seed
from katib_enas.core.search_space import SearchSpace
from katib_enas.core.strategy import LearnReport, SearchStrategy
from katib_enas.core.trials import Judgement, Objective


class RandomStrategy(SearchStrategy):
    """Each op uniformly, each skip bit with probability `skip_rate`; learns nothing."""

    def __init__(
        self, space: SearchSpace, objective: Objective, seed: int, skip_rate: float = 0.4
    ) -> None:
        super().__init__(space, objective)
        self.seed = seed
        self.skip_rate = skip_rate

    def suggest(self, count: int, key: int) -> list[Architecture]:
        generator = torch.Generator().manual_seed(mix_seed(self.seed, key))
        layers_n = self.space.num_layers
        result = []
        for _ in range(count):
            ops = torch.randint(self.space.num_operations, (layers_n,), generator=generator)
            bits = torch.rand(layers_n, layers_n, generator=generator) < self.skip_rate
            result.append(
                Architecture(
                    tuple(
                        Layer(int(ops[i]), tuple(int(b) for b in bits[i, :i].tolist()))
                        for i in range(layers_n)
                    )
                )
            )
        return result

    def _reset(self) -> None:
        pass

    def _learn(self, architecture: Architecture, judgement: Judgement, report: LearnReport) -> bool:
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"learned": list(self._learned)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._learned = list(state["learned"])
