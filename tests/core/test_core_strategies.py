"""The search-strategy contract (`katib_enas.core.strategies.base`), run against every registered
strategy over every registered space kind; `tests/service/test_service_strategies.py` runs it
once more through the real gRPC server. REINFORCE-specific behaviour (replay equals live
learning) follows at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from space_samples import parts

from katib_enas.core import spaces, strategies
from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.settings import EnasSettings, parse_settings
from katib_enas.core.spaces.macro import Architecture, MacroSpace
from katib_enas.core.strategies import ReinforceStrategy, SearchStrategy
from katib_enas.core.strategies.base import EXACT_REPLAY_TRIALS
from katib_enas.core.strategies.reinforce import MAX_REPLAY_UPDATES
from katib_enas.core.trials import TrialRecord

Factory = Callable[[], SearchStrategy[Any]]
PAIRS = [(name, kind) for name in sorted(strategies.STRATEGIES) for kind in sorted(spaces.KINDS)]


def _settings(name: str, kind: str, seed: str = "1") -> EnasSettings:
    return parse_settings([("strategy", name), ("search_space", kind), ("seed", seed)], "exp")


@pytest.fixture(params=PAIRS, ids=[f"{name}-{kind}" for name, kind in PAIRS])
def make(request: pytest.FixtureRequest) -> Factory:
    name, kind = request.param
    nas, objective, _ = parts(kind)
    settings = _settings(name, kind)

    def factory() -> SearchStrategy[Any]:
        strategy = strategies.build(nas, objective, settings)
        assert strategy.name == name and strategy.space.kind == kind
        return strategy

    return factory


def history(
    strategy: SearchStrategy[Any], rewards: list[float], start: int = 0
) -> list[TrialRecord]:
    trials = []
    for i, reward in enumerate(rewards, start):
        arch = strategy.suggest(1, 1000 + i)[0]
        trials.append(
            TrialRecord(
                f"trial-{i:04d}",
                Condition.SUCCEEDED,
                strategy.assignments(arch),
                {strategy.objective.metric_name: str(reward)},
                f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            )
        )
    return trials


def test_suggests_exactly_the_count_asked_for_within_the_space(make: Factory) -> None:
    strategy = make()
    for count in (0, 1, 3, 17):
        architectures = strategy.suggest(count, count)
        assert len(architectures) == count
        for arch in architectures:
            assert strategy.space.decode(strategy.assignments(arch)) == arch


def test_same_key_same_suggestions_other_key_other_ones(make: Factory) -> None:
    a, b = make(), make()
    assert a.suggest(5, 7) == b.suggest(5, 7)
    assert a.suggest(5, 7) != a.suggest(5, 8)


def test_observe_is_idempotent_and_ignores_unfinished(make: Factory) -> None:
    strategy = make()
    trials = history(strategy, [0.1, 0.5, 0.3])
    running = TrialRecord("trial-run", Condition.RUNNING, trials[0].assignments, {})
    first = strategy.observe([*trials, running])
    assert first.learned == 3
    again = strategy.observe([running, *reversed(trials)])
    assert again.learned == 0
    assert strategy.learned_trials == ("trial-0000", "trial-0001", "trial-0002")


def test_killed_and_undecodable_trials_change_nothing(make: Factory) -> None:
    strategy, reference = make(), make()
    trials = history(strategy, [0.4, 0.6])
    junk = [
        TrialRecord("killed", Condition.KILLED, trials[0].assignments, {}, "2026-01-01T01:00:00Z"),
        TrialRecord(
            "junk", Condition.SUCCEEDED, {"architecture": "[["}, {}, "2026-01-01T01:00:01Z"
        ),
    ]
    report = strategy.observe([*trials, *junk])
    assert report.updates == reference.observe(trials).updates
    assert strategy.suggest(6, 3) == reference.suggest(6, 3)


def test_state_round_trip_continues_identically(make: Factory) -> None:
    strategy = make()
    strategy.observe(history(strategy, [0.2, 0.9, 0.4, 0.6]))
    restored = make()
    restored.load_state_dict(strategy.state_dict())
    assert restored.suggest(4, 99) == strategy.suggest(4, 99)
    assert restored.learned_trials == strategy.learned_trials


def test_a_late_trial_costs_only_itself(make: Factory) -> None:
    live = make()
    trials = history(live, [0.1, 0.8, 0.5, 0.2])
    live.observe([trials[0], *trials[2:]])
    report = live.observe(trials)  # trial 1 arrives late although it finished earlier
    assert (report.learned, report.replayed) == (1, False)
    assert live.learned_trials == tuple(t.name for t in (trials[0], *trials[2:], trials[1]))


def test_a_restart_without_checkpoint_relearns_the_state_it_lost(make: Factory) -> None:
    """Trials that arrived in canonical order: the replay ends in the very same state."""
    live, restarted = make(), make()
    trials = history(live, [0.1, 0.8, 0.5, 0.2, 0.9, 0.3, 0.7, 0.4, 0.6])
    for end in range(1, len(trials) + 1):  # one finished trial per call, as Katib calls
        live.observe(trials[:end])
    report = restarted.observe(list(reversed(trials)))  # any order in the request
    assert report.replayed and report.learned == len(trials)
    assert restarted.learned_trials == live.learned_trials
    assert restarted.suggest(5, 11) == live.suggest(5, 11)


def test_unknown_names_are_rejected_naming_the_setting() -> None:
    from katib_enas.core.errors import InvalidSettingsError

    nas, objective, _ = parts("macro")
    for setting, value in (("strategy", "grid"), ("search_space", "cells")):
        settings = parse_settings([(setting, value)], "exp")
        with pytest.raises(InvalidSettingsError, match=f"algorithmSettings.{setting}"):
            strategies.build(nas, objective, settings)


# --- REINFORCE -------------------------------------------------------------------------------


def _params(strategy: ReinforceStrategy[Any]) -> list[torch.Tensor]:
    return [p.detach().clone() for p in strategy.policy.parameters()]


def test_reinforce_replay_reaches_the_state_of_the_service_that_served_all_along(
    gpu_space: MacroSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    _, objective, _ = parts("macro")

    def fresh() -> ReinforceStrategy[Architecture]:
        return ReinforceStrategy(gpu_space, objective, parse_settings([], "replay"))

    live = fresh()
    trials: list[TrialRecord] = []
    for step in range(30):  # one call per finished trial, as in a running experiment
        arch = live.suggest(1, 1000 + step)[0]
        trials.append(
            TrialRecord(
                f"trial-{step:04d}",
                Condition.SUCCEEDED,
                live.assignments(arch),
                {objective.metric_name: str(five_by_five_share(arch))},
                f"2026-01-01T00:{step // 60:02d}:{step % 60:02d}Z",
            )
        )
        live.observe(trials)
    replayed = fresh()
    report = replayed.observe(list(reversed(trials)))  # any order in the request
    assert report.learned == 30
    for a, b in zip(_params(live), _params(replayed), strict=True):
        assert torch.equal(a, b)
    assert replayed.baseline == live.baseline
    assert replayed.suggest(8, 12345) == live.suggest(8, 12345)


@pytest.mark.slow
def test_reinforce_long_replay_takes_few_larger_steps_with_the_same_rewards(
    gpu_space: MacroSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    """A restart without a checkpoint after 1,001 trials: learned in at most 50 updates (a cold
    start in seconds), every trial's reward and advantage as live learning had them, and what
    stays pending is what live learning would leave for the next call."""
    _, objective, _ = parts("macro")
    settings = parse_settings([], "long-replay")
    live = ReinforceStrategy(gpu_space, objective, settings)
    trials = []
    for i, arch in enumerate(live.suggest(1001, 7)):
        trials.append(
            TrialRecord(
                f"trial-{i:05d}",
                Condition.SUCCEEDED,
                live.assignments(arch),
                {objective.metric_name: str(five_by_five_share(arch))},
                f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            )
        )
    assert len(trials) > EXACT_REPLAY_TRIALS
    live.observe(trials[:1])
    live.observe(trials)  # not a replay: learned live, in batches of controller_batch_size
    replayed = ReinforceStrategy(gpu_space, objective, settings)
    report = replayed.observe(trials)
    assert report.replayed and report.learned == 1001
    assert report.updates <= MAX_REPLAY_UPDATES < live.updates == 1001 // 4
    assert len(replayed.pending) < settings.controller_batch_size
    assert replayed.baseline == live.baseline
    stats = ("reward_count", "reward_mean", "reward_m2", "worst_reward")
    assert [getattr(replayed, a) for a in stats] == [getattr(live, a) for a in stats]
    # Then it learns live again: the next call's trials in batches of controller_batch_size.
    more = [*trials, *history(replayed, [0.5] * 8, start=2000)]
    assert replayed.observe(more).updates == (len(replayed.pending) + 8) // 4


def test_reinforce_checkpoints_keep_their_fingerprint_across_the_settings_ownership_change(
    gpu_space: MacroSpace,
) -> None:
    """A checkpoint is restored only into the setup its fingerprint names. The values pinned here
    were computed before the settings moved to their owners (issue 22): the fingerprint, and so
    every saved checkpoint, is unchanged."""
    objective = Objective(ObjectiveType.MAXIMIZE, "acc")
    pinned = {
        (("seed", "1"),): "4542d33ec3db1eb0",
        (("seed", "1"), ("controller_batch_size", "2"), ("failed_trial_reward", "skip")): (
            "e2164c57033eee29"
        ),
    }
    for raw, fingerprint in pinned.items():
        settings = parse_settings(raw, "pin")
        assert ReinforceStrategy(gpu_space, objective, settings).fingerprint == fingerprint
