"""The controller really learns from trial rewards, with default settings, in few trials."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import pytest

from katib_enas.core.katib import Condition, Objective, ObjectiveType
from katib_enas.core.settings import parse_settings
from katib_enas.core.spaces.macro import MacroSpace
from katib_enas.core.spaces.macro.format import Architecture
from katib_enas.core.strategies import RandomStrategy, ReinforceStrategy
from katib_enas.core.trials import Judgement, Outcome, TrialRecord, judge

ACC = "Validation-Accuracy"
MAXIMIZE = Objective(ObjectiveType.MAXIMIZE, ACC)


def run_search(
    strategy: ReinforceStrategy, reward: Callable[[Architecture], float], trials: int
) -> list[TrialRecord]:
    """A sequential Katib experiment: each call learns the trial that just finished."""
    done: list[TrialRecord] = []
    for i in range(trials):
        strategy.observe(done)
        arch = strategy.suggest(1, i)[0]
        done.append(
            TrialRecord(
                f"t{i:04d}",
                Condition.SUCCEEDED,
                strategy.assignments(arch),
                {ACC: f"{reward(arch):.6f}"},
                f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            )
        )
    strategy.observe(done)
    return done


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_default_settings_learn_a_synthetic_reward_within_150_trials(
    seed: int, gpu_space: MacroSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    random_level = statistics.mean(
        five_by_five_share(a)
        for a in RandomStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", str(seed))])).suggest(
            2000, 0
        )
    )
    assert 0.07 < random_level < 0.13  # 10 of 106 operations
    strategy = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", str(seed))]))
    before = statistics.mean(five_by_five_share(a) for a in strategy.suggest(200, -1))
    history = run_search(strategy, five_by_five_share, 150)
    after = statistics.mean(five_by_five_share(a) for a in strategy.suggest(200, -1))
    assert before < 2 * random_level
    assert after > 3 * random_level, (before, after, random_level)

    # A fresh service given that history continues from the learned policy.
    fresh = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", str(seed))]))
    fresh.observe(history)
    assert fresh.suggest(50, 777) == strategy.suggest(50, 777)


@pytest.mark.slow
def test_minimize_objectives_learn_the_other_way(
    gpu_space: MacroSpace, five_by_five_share: Callable[[Architecture], float]
) -> None:
    loss = Objective(ObjectiveType.MINIMIZE, ACC)
    strategy = ReinforceStrategy(gpu_space, loss, parse_settings([("seed", "4")]))
    run_search(strategy, lambda a: 1.0 - five_by_five_share(a), 150)
    after = statistics.mean(five_by_five_share(a) for a in strategy.suggest(200, -1))
    assert after > 0.3


def trial(condition: Condition, metrics: dict[str, str]) -> TrialRecord:
    return TrialRecord("t", condition, {}, metrics)


@pytest.mark.parametrize(
    ("condition", "metrics", "expected"),
    [
        (Condition.SUCCEEDED, {ACC: "0.93"}, Judgement(Outcome.SUCCEEDED, 0.93, 0.93)),
        (Condition.EARLYSTOPPED, {ACC: "0.4"}, Judgement(Outcome.SUCCEEDED, 0.4, 0.4)),
        (Condition.SUCCEEDED, {ACC: "nan"}, Judgement(Outcome.FAILED)),
        (Condition.SUCCEEDED, {ACC: "abc"}, Judgement(Outcome.FAILED)),
        (Condition.SUCCEEDED, {}, Judgement(Outcome.FAILED)),
        (Condition.FAILED, {}, Judgement(Outcome.FAILED)),
        (Condition.METRICSUNAVAILABLE, {}, Judgement(Outcome.FAILED)),
        (Condition.KILLED, {ACC: "0.9"}, Judgement(Outcome.SKIPPED)),
        (Condition.RUNNING, {}, Judgement(Outcome.PENDING)),
        (Condition.CREATED, {}, Judgement(Outcome.PENDING)),
    ],
)
def test_the_reward_rule(
    condition: Condition, metrics: dict[str, str], expected: Judgement
) -> None:
    assert judge(trial(condition, metrics), MAXIMIZE) == expected


def test_failed_trials_are_punished_with_the_worst_reward_seen(gpu_space: MacroSpace) -> None:
    """The controller learns to avoid an architecture whose trials keep failing."""
    one_by_one = [("seed", "5"), ("controller_batch_size", "1")]
    strategy = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings(one_by_one))
    bad = strategy.suggest(1, 0)[0]
    ok = strategy.suggest(1, 1)[0]
    before = float(strategy.policy.evaluate([bad]).log_prob.detach())
    trials = [TrialRecord("ok-0", Condition.SUCCEEDED, strategy.assignments(ok), {ACC: "0.2"}, "1")]
    trials += [
        TrialRecord("ok-1", Condition.SUCCEEDED, strategy.assignments(ok), {ACC: "0.6"}, "2")
    ]
    trials += [
        TrialRecord(f"bad-{i}", Condition.FAILED, strategy.assignments(bad), {}, f"{3 + i}")
        for i in range(5)
    ]
    report = strategy.observe(trials)
    assert report.updates == 7
    assert float(strategy.policy.evaluate([bad]).log_prob.detach()) < before - 1.0

    skipping = ReinforceStrategy(
        gpu_space, MAXIMIZE, parse_settings([*one_by_one, ("failed_trial_reward", "skip")])
    )
    assert skipping.observe(trials).updates == 2


def test_all_failed_history_learns_nothing_but_still_suggests(gpu_space: MacroSpace) -> None:
    strategy = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", "6")]))
    arch = strategy.suggest(1, 0)[0]
    trials = [
        TrialRecord(f"f{i}", Condition.FAILED, strategy.assignments(arch), {}, str(i))
        for i in range(4)
    ]
    report = strategy.observe(trials)
    assert report.learned == 4 and report.updates == 0
    assert len(strategy.suggest(3, 1)) == 3


def test_malformed_assignments_are_skipped_not_fatal(gpu_space: MacroSpace) -> None:
    strategy = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", "7")]))
    junk = [
        TrialRecord("a", Condition.SUCCEEDED, {"architecture": "[[0"}, {ACC: "0.5"}, "1"),
        TrialRecord("b", Condition.SUCCEEDED, {"architecture": "[[999]]"}, {ACC: "0.5"}, "2"),
        TrialRecord("c", Condition.SUCCEEDED, {"lr": "0.1"}, {ACC: "0.5"}, "3"),
    ]
    report = strategy.observe(junk)
    assert report.learned == 3 and report.updates == 0


def _finished(
    strategy: ReinforceStrategy[Architecture], start: int, count: int
) -> list[TrialRecord]:
    return [
        TrialRecord(
            f"t{i:03d}",
            Condition.SUCCEEDED,
            strategy.assignments(strategy.suggest(1, i)[0]),
            {ACC: str(0.1 * (i % 9))},
            f"2026-01-01T00:00:{i:02d}Z",
        )
        for i in range(start, start + count)
    ]


def test_updates_come_in_batches_and_a_checkpoint_keeps_the_pending_trials(
    gpu_space: MacroSpace,
) -> None:
    settings = parse_settings([("seed", "8"), ("controller_batch_size", "4")])
    live = ReinforceStrategy(gpu_space, MAXIMIZE, settings)
    first = _finished(live, 0, 7)
    report = live.observe(first)
    assert (report.learned, report.updates, len(live.pending)) == (7, 1, 3)
    restored = ReinforceStrategy(gpu_space, MAXIMIZE, settings)
    restored.load_state_dict(live.state_dict())
    more = first + _finished(live, 7, 1)  # the 8th trial completes the second batch
    assert live.observe(more).updates == restored.observe(more).updates == 1
    assert live.suggest(6, 99) == restored.suggest(6, 99)
    assert not live.pending and not restored.pending


def test_a_late_trial_is_learned_alone_without_relearning_the_rest(gpu_space: MacroSpace) -> None:
    strategy = ReinforceStrategy(gpu_space, MAXIMIZE, parse_settings([("seed", "9")]))
    trials = _finished(strategy, 0, 12)
    late, rest = trials[3], trials[:3] + trials[4:]
    strategy.observe(rest)
    report = strategy.observe(trials)  # it finished earlier than others it arrives after
    assert (report.learned, report.replayed) == (1, False)
    assert strategy.learned_trials[-1] == late.name
    assert strategy.observe(list(reversed(trials))).learned == 0  # any order: nothing new


def test_every_update_is_in_the_history_numbered_across_restarts(gpu_space: MacroSpace) -> None:
    """What the report plots: one record per update (a replay makes several in one call), the
    batch's mean reward, the baseline and the entropy; a restored state goes on counting."""
    settings = parse_settings([("seed", "8"), ("controller_batch_size", "4")])
    live = ReinforceStrategy(gpu_space, MAXIMIZE, settings)
    first = _finished(live, 0, 8)
    report = live.observe(first)
    assert [u.number for u in report.history] == [1, 2] and report.updates == 2
    rewards = [0.1 * (i % 9) for i in range(8)]
    assert report.history[0].mean_reward == pytest.approx(sum(rewards[:4]) / 4)
    assert report.history[1].mean_reward == pytest.approx(sum(rewards[4:]) / 4)
    assert all(u.trials == 4 and u.entropy > 0 for u in report.history)
    assert report.history[-1].baseline == pytest.approx(live.baseline)
    restored = ReinforceStrategy(gpu_space, MAXIMIZE, settings)
    restored.load_state_dict(live.state_dict())
    later = restored.observe(first + _finished(live, 8, 4))
    assert [u.number for u in later.history] == [3]
    assert live.observe(first).history == []  # nothing new, nothing recorded
