"""The search-strategy contract, run against ENAS and the random baseline alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from katib_enas.core.architecture import Architecture
from katib_enas.core.enas import EnasStrategy
from katib_enas.core.random_search import RandomStrategy
from katib_enas.core.search_space import SearchSpace
from katib_enas.core.settings import parse_settings
from katib_enas.core.strategy import SearchStrategy
from katib_enas.core.trials import Condition, Objective, ObjectiveType, TrialRecord

MAXIMIZE = Objective(ObjectiveType.MAXIMIZE, "Validation-Accuracy")
Factory = Callable[[SearchSpace], SearchStrategy]

FACTORIES: dict[str, Factory] = {
    "enas": lambda space: EnasStrategy(space, MAXIMIZE, parse_settings([("seed", "1")])),
    "random": lambda space: RandomStrategy(space, MAXIMIZE, seed=1),
}


def history(strategy: SearchStrategy, rewards: list[float], start: int = 0) -> list[TrialRecord]:
    trials = []
    for i, reward in enumerate(rewards, start):
        arch = strategy.suggest(1, 1000 + i)[0]
        trials.append(
            TrialRecord(
                f"trial-{i:04d}",
                Condition.SUCCEEDED,
                strategy.assignments(arch),
                {"Validation-Accuracy": str(reward)},
                f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            )
        )
    return trials


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest) -> Factory:
    return FACTORIES[request.param]


def test_suggests_exactly_the_count_asked_for_within_the_space(
    make: Factory, gpu_space: SearchSpace
) -> None:
    strategy = make(gpu_space)
    for count in (0, 1, 3, 17):
        architectures = strategy.suggest(count, count)
        assert len(architectures) == count
        for arch in architectures:
            arch.check(gpu_space)


def test_same_key_same_suggestions_other_key_other_ones(
    make: Factory, gpu_space: SearchSpace
) -> None:
    a, b = make(gpu_space), make(gpu_space)
    assert a.suggest(5, 7) == b.suggest(5, 7)
    assert a.suggest(5, 7) != a.suggest(5, 8)


def test_observe_is_idempotent_and_ignores_unfinished(
    make: Factory, gpu_space: SearchSpace
) -> None:
    strategy = make(gpu_space)
    trials = history(strategy, [0.1, 0.5, 0.3])
    running = TrialRecord("trial-run", Condition.RUNNING, trials[0].assignments, {})
    first = strategy.observe([*trials, running])
    assert first.learned == 3
    again = strategy.observe([running, *reversed(trials)])
    assert again.learned == 0
    assert strategy.learned_trials == ("trial-0000", "trial-0001", "trial-0002")


def test_state_round_trip_continues_identically(make: Factory, gpu_space: SearchSpace) -> None:
    strategy = make(gpu_space)
    strategy.observe(history(strategy, [0.2, 0.9, 0.4, 0.6]))
    restored = make(gpu_space)
    restored.load_state_dict(strategy.state_dict())
    assert restored.suggest(4, 99) == strategy.suggest(4, 99)
    assert restored.learned_trials == strategy.learned_trials


def _params(strategy: EnasStrategy) -> list[torch.Tensor]:
    return [p.detach().clone() for p in strategy.policy.parameters()]


def test_enas_replay_reaches_the_state_of_the_service_that_served_all_along(
    gpu_space: SearchSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    def fresh() -> EnasStrategy:
        return EnasStrategy(gpu_space, MAXIMIZE, parse_settings([], "replay"))

    live = fresh()
    trials: list[TrialRecord] = []
    for step in range(30):  # one call per finished trial, as in a running experiment
        trials += history(live, [0.0], start=step)
        trials[-1] = TrialRecord(
            trials[-1].name,
            Condition.SUCCEEDED,
            trials[-1].assignments,
            {"Validation-Accuracy": str(five_by_five_share(live.suggest(1, 1000 + step)[0]))},
            trials[-1].completion_time,
        )
        live.observe(trials)
    replayed = fresh()
    report = replayed.observe(list(reversed(trials)))  # any order in the request
    assert report.learned == 30
    for a, b in zip(_params(live), _params(replayed), strict=True):
        assert torch.equal(a, b)
    assert replayed.baseline == live.baseline
    assert replayed.suggest(8, 12345) == live.suggest(8, 12345)


def test_a_late_trial_that_sorts_earlier_triggers_a_replay_in_canonical_order(
    gpu_space: SearchSpace,
) -> None:
    live = FACTORIES["enas"](gpu_space)
    trials = history(live, [0.1, 0.8, 0.5, 0.2])
    late, rest = trials[1], [trials[0], *trials[2:]]
    live.observe(rest)
    report = live.observe(trials)
    assert report.replayed and report.learned == 4
    canonical = FACTORIES["enas"](gpu_space)
    canonical.observe(trials)
    assert live.learned_trials == canonical.learned_trials
    assert late.name == live.learned_trials[1]
    assert isinstance(live, EnasStrategy) and isinstance(canonical, EnasStrategy)
    for a, b in zip(_params(live), _params(canonical), strict=True):
        assert torch.equal(a, b)
