"""Search strategies, by the name the `strategy` algorithm setting gives them.

The contract is `SearchStrategy` in `base.py`; adding a strategy is one module plus one line in
`STRATEGIES`. Every strategy works over any space kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from katib_enas.core.errors import InvalidSettingsError
from katib_enas.core.katib import Objective
from katib_enas.core.settings_schema import EnasSettings
from katib_enas.core.spaces import Space, parse_space
from katib_enas.core.spaces.operations import NasConfig
from katib_enas.core.strategies.base import LearnReport, SearchStrategy, mix_seed
from katib_enas.core.strategies.random import RandomStrategy
from katib_enas.core.strategies.reinforce import ReinforceStrategy
from katib_enas.core.updates import ControllerUpdate

STRATEGIES: Mapping[str, type[SearchStrategy[Any]]] = {
    strategy.name: strategy for strategy in (ReinforceStrategy, RandomStrategy)
}


def build(nas: NasConfig, objective: Objective, settings: EnasSettings) -> SearchStrategy[Any]:
    """The strategy for an experiment: its space parsed, both chosen by the settings. Also what
    `ValidateAlgorithmSettings` and `katib-enas validate` run to check an experiment."""
    return create(parse_space(nas, settings), objective, settings)


def create(space: Space[Any], objective: Objective, settings: EnasSettings) -> SearchStrategy[Any]:
    """The strategy the settings name, over `space`."""
    strategy = STRATEGIES.get(settings.strategy)
    if strategy is None:
        raise InvalidSettingsError(
            f"algorithmSettings.strategy: unknown strategy {settings.strategy!r} "
            f"(known: {', '.join(STRATEGIES)})"
        )
    return strategy(space, objective, settings)


__all__ = [
    "STRATEGIES",
    "ControllerUpdate",
    "LearnReport",
    "RandomStrategy",
    "ReinforceStrategy",
    "SearchStrategy",
    "build",
    "create",
    "mix_seed",
]
