"""ENAS's own strategy: the controller of the space's kind, trained with REINFORCE (`strategy`),
and the settings it owns (`settings`)."""

from katib_enas.core.strategies.reinforce.settings import SETTINGS
from katib_enas.core.strategies.reinforce.strategy import (
    MAX_REPLAY_UPDATES,
    STATE_VERSION,
    ReinforceStrategy,
)

__all__ = ["MAX_REPLAY_UPDATES", "SETTINGS", "STATE_VERSION", "ReinforceStrategy"]
