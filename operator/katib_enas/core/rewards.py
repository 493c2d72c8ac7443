"""Reward shaping for policy-gradient strategies: what a finished trial's reward is, and how far
it is above what was expected.

Kept apart from any one strategy (NNI keeps its RL strategy apart from the learner the same way)
so that a second policy-gradient strategy reuses the same rules, and their settings: the
`failed_trial_reward` rule, the moving baseline, the normalisation and the clip. Pure Python: no
torch, no strategy state beyond the numbers below, which a strategy saves in its checkpoint.

The rules, as the ENAS controller of `strategies.reinforce` uses them:

- a SUCCEEDED (or EARLYSTOPPED) trial's reward is its judged reward, and the lowest one seen is
  remembered; a FAILED one's follows `failed_trial_reward` (`worst`: that lowest reward, nothing
  before a trial succeeded; `skip`: nothing; a number: that metric value, as a reward);
- the advantage is the reward minus a moving-average baseline (updated first, as in the original
  ENAS code), divided by the running standard deviation of rewards (Welford), so that one
  learning rate fits accuracies in [0, 1] and losses in the tens alike, clipped to +-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from katib_enas.core.katib import Objective
from katib_enas.core.settings_schema import Rule, Setting
from katib_enas.core.trials import Judgement, Outcome

ADVANTAGE_CLIP = 5.0
WORST = "worst"
SKIP = "skip"

BASELINE_DECAY = Setting(
    "controller_baseline_decay",
    Rule(float, 0.0, 1.0, low_open=True),
    0.9,
    """Decay of the moving-average reward baseline (stock 0.999, which after a few hundred trials
    still sits near its start). float in (0, 1].""",
    stock="0.999",
)
FAILED_TRIAL_REWARD = Setting(
    "failed_trial_reward",
    Rule(str, choices=(WORST, SKIP), or_number=True),
    WORST,
    """How a FAILED trial (or one whose objective metric is missing or not a number) teaches the
    controller (ours): `worst` - the lowest reward seen so far (skipped until a trial succeeded);
    `skip` - not at all; or a number: the metric value a failed trial counts as (e.g. 0 for an
    accuracy, 10 for a minimised loss). KILLED trials are never learned from.""",
)


def fixed_failed_reward(rule: str) -> float | None:
    """The metric value a failed trial counts as, or None for the `worst` and `skip` rules."""
    return None if rule in (WORST, SKIP) else float(rule)


def normalised_advantage(reward: float, baseline: float, std: float) -> float:
    """(reward - baseline) / std, clipped to +-`ADVANTAGE_CLIP`; 0 while rewards do not vary."""
    advantage = (reward - baseline) / std if std > 1e-12 else 0.0
    return max(-ADVANTAGE_CLIP, min(ADVANTAGE_CLIP, advantage))


@dataclass
class RewardShaping:
    """The reward rule and the baseline of one strategy, with the numbers it has seen."""

    objective: Objective
    failed_trial_reward: str  # the setting's text: `worst`, `skip` or a number
    baseline_decay: float
    baseline: float | None = None
    reward_count: int = 0
    reward_mean: float = 0.0
    reward_m2: float = 0.0  # Welford's sum of squared deviations
    worst_reward: float | None = None

    def reward(self, judgement: Judgement) -> float | None:
        """The reward a finished trial teaches, or None when it teaches nothing."""
        if judgement.outcome is Outcome.SUCCEEDED:
            assert judgement.reward is not None
            self.worst_reward = (
                judgement.reward
                if self.worst_reward is None
                else min(self.worst_reward, judgement.reward)
            )
            return judgement.reward
        fixed = fixed_failed_reward(self.failed_trial_reward)
        if fixed is not None:
            return self.objective.reward(fixed)
        if self.failed_trial_reward == WORST:
            return self.worst_reward
        return None

    def advantage(self, reward: float) -> float:
        """Take `reward` into the statistics and the baseline, then its normalised advantage."""
        self.reward_count += 1
        delta = reward - self.reward_mean
        self.reward_mean += delta / self.reward_count
        self.reward_m2 += delta * (reward - self.reward_mean)
        decay = self.baseline_decay
        self.baseline = (
            reward if self.baseline is None else decay * self.baseline + (1 - decay) * reward
        )
        return normalised_advantage(reward, self.baseline, self.std)

    @property
    def std(self) -> float:
        """The sample standard deviation of the rewards so far (0 before the second)."""
        if self.reward_count < 2:
            return 0.0
        return math.sqrt(self.reward_m2 / (self.reward_count - 1))
