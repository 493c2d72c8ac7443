"""One controller update as a record: what the run's report plots over the search.

Prometheus' gauges keep only the latest reward, baseline and entropy; a strategy also lists
every update it made in its `LearnReport.history`, and the local runner stores that list in the
run's database. Plain data without torch, so the store and the report import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """One decision of the controller (a layer's operation, a skip, a cell node's input): the
    probability of each choice, averaged over the update's batch (the LSTM follows each trial's
    own earlier choices), as the update's last gradient step found the policy."""

    label: str  # `layer 2: operation`, `normal node 3: input 1`
    choices: tuple[str, ...]
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class ControllerUpdate:
    """One policy update of the REINFORCE controller."""

    number: int  # 1, 2, ... over the strategy's life (a restored state continues its count)
    trials: int  # trials in the update's batch
    mean_reward: float  # of the batch
    baseline: float  # the moving-average baseline after the batch
    loss: float
    entropy: float  # mean policy entropy over the batch, in nats
    decisions: tuple[Decision, ...] = ()  # what the policy prefers at each decision (heatmap)
