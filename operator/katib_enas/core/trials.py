"""Trials as the search strategy sees them, and the rule that turns a trial into a reward.

The rule, in one place:
- SUCCEEDED or EARLYSTOPPED with a finite objective metric: reward = the metric, negated when the
  objective is `minimize` (the controller always maximises).
- FAILED, METRICSUNAVAILABLE, or SUCCEEDED/EARLYSTOPPED without a usable objective metric: a
  failure, rewarded by the `failed_trial_reward` setting (the worst reward seen so far by
  default, so that the controller learns to avoid architectures that crash).
- KILLED: not learned from (the architecture is not to blame for being stopped).
- CREATED, RUNNING, UNKNOWN: not finished yet.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

from katib_enas.core.katib import FAILED_LIKE, SUCCEEDED_LIKE, Condition, Objective


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a request: its assignments, its latest condition, its observed metrics."""

    name: str
    condition: Condition
    assignments: Mapping[str, str]
    metrics: Mapping[str, str]  # raw strings, as Katib sends them
    completion_time: str = ""


class Outcome(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Judgement:
    """What a trial means for learning: its outcome and, when it succeeded, its reward."""

    outcome: Outcome
    reward: float | None = None
    metric: float | None = None


def judge(trial: TrialRecord, objective: Objective) -> Judgement:
    """Apply the module's rule to one trial."""
    if trial.condition in FAILED_LIKE:
        return Judgement(Outcome.FAILED)
    if trial.condition is Condition.KILLED:
        return Judgement(Outcome.SKIPPED)
    if trial.condition not in SUCCEEDED_LIKE:
        return Judgement(Outcome.PENDING)
    value = parse_metric(trial.metrics.get(objective.metric_name))
    if value is None:
        return Judgement(Outcome.FAILED)
    return Judgement(Outcome.SUCCEEDED, objective.reward(value), value)


def parse_metric(text: str | None) -> float | None:
    """A finite float from a metric string, or None (Katib sends strings; some are junk)."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
