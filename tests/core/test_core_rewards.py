"""Reward shaping: the failed-trial rule, the moving baseline, the normalisation and the clip, as
any policy-gradient strategy gets them from `katib_enas.core.rewards`."""

from __future__ import annotations

import math
import statistics

import pytest

from katib_enas.core.katib import Objective, ObjectiveType
from katib_enas.core.rewards import (
    ADVANTAGE_CLIP,
    RewardShaping,
    fixed_failed_reward,
    normalised_advantage,
)
from katib_enas.core.trials import Judgement, Outcome

MAXIMIZE = Objective(ObjectiveType.MAXIMIZE, "acc")
MINIMIZE = Objective(ObjectiveType.MINIMIZE, "loss")
FAILED = Judgement(Outcome.FAILED)


def succeeded(reward: float) -> Judgement:
    return Judgement(Outcome.SUCCEEDED, reward, reward)


def shaping(
    rule: str = "worst", decay: float = 0.9, objective: Objective = MAXIMIZE
) -> RewardShaping:
    return RewardShaping(objective, rule, decay)


def test_a_failed_trial_gets_the_worst_reward_seen_and_nothing_before_a_success() -> None:
    rules = shaping("worst")
    assert rules.reward(FAILED) is None
    assert [rules.reward(succeeded(r)) for r in (0.5, 0.2, 0.7)] == [0.5, 0.2, 0.7]
    assert rules.reward(FAILED) == 0.2 == rules.worst_reward


def test_skip_teaches_nothing_and_a_number_is_a_metric_value_turned_into_a_reward() -> None:
    assert shaping("skip").reward(FAILED) is None
    assert shaping("0").reward(FAILED) == 0.0
    assert shaping("10", objective=MINIMIZE).reward(FAILED) == -10.0  # a loss of 10
    assert fixed_failed_reward("worst") is None and fixed_failed_reward("skip") is None
    assert fixed_failed_reward("-1.5") == -1.5


def test_the_baseline_starts_at_the_first_reward_then_moves_by_its_decay() -> None:
    rules = shaping(decay=0.9)
    assert rules.advantage(0.5) == 0.0  # one reward: no spread yet, nothing to learn
    assert rules.baseline == 0.5
    rules.advantage(1.0)
    assert rules.baseline == pytest.approx(0.9 * 0.5 + 0.1 * 1.0)


def test_the_advantage_is_over_the_running_standard_deviation_of_rewards() -> None:
    rules = shaping(decay=0.5)
    seen = [0.1, 0.4, 0.35, 0.8]
    advantages = [rules.advantage(r) for r in seen]
    assert rules.reward_count == 4
    assert rules.reward_mean == pytest.approx(statistics.mean(seen))
    assert rules.std == pytest.approx(statistics.stdev(seen))
    baseline = 0.1
    for reward in seen[1:]:
        baseline = 0.5 * baseline + 0.5 * reward
    assert advantages[-1] == pytest.approx((0.8 - baseline) / statistics.stdev(seen))


def test_advantages_are_clipped_and_zero_while_rewards_do_not_vary() -> None:
    assert normalised_advantage(100.0, 0.0, 1.0) == ADVANTAGE_CLIP
    assert normalised_advantage(-100.0, 0.0, 1.0) == -ADVANTAGE_CLIP
    assert normalised_advantage(0.3, 0.1, 0.0) == 0.0
    assert normalised_advantage(0.3, 0.1, 0.1) == pytest.approx(2.0)
    rules = shaping()
    assert [rules.advantage(0.4) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert math.isclose(rules.std, 0.0)
