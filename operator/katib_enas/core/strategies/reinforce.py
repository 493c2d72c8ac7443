"""ENAS as a multi-trial strategy: REINFORCE on the architectures trials really ran.

Generic over the space kind: the space supplies the controller (`Space.policy`).

Each finished trial is one sample: its own architecture, its own reward. The advantage is the
reward minus a moving-average baseline (updated before the advantage, as in the original code),
divided by the running standard deviation of rewards so that one learning rate fits accuracy in
[0, 1] and losses in the tens alike. The loss adds an entropy bonus and the skip penalty; the
gradient's norm is clipped. This is the stock service's bug fixed: it pushed freshly sampled
architectures with one global mean reward, so what trials ran never reached the gradient.

A replay of a long history (a restart without a checkpoint, more than `EXACT_REPLAY_TRIALS`
finished trials) is learned in at most `MAX_REPLAY_UPDATES` updates: each trial's reward,
baseline and advantage exactly as live, but the gradient averaged over batches of
ceil(N / MAX_REPLAY_UPDATES) trials instead of `controller_batch_size`. Each update costs about
the same whatever its batch, so 10,000 trials cost 50 updates instead of 2,500; the state it
reaches approximates the lost one (the same trials and rewards, fewer and larger steps).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import torch

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Objective
from katib_enas.core.policies import PolicyConfig
from katib_enas.core.settings import EnasSettings
from katib_enas.core.spaces import Space
from katib_enas.core.strategies.base import (
    EXACT_REPLAY_TRIALS,
    LearnReport,
    SearchStrategy,
    mix_seed,
)
from katib_enas.core.trials import Judgement, Outcome
from katib_enas.core.updates import ControllerUpdate
from katib_enas.optim import Adam

A = TypeVar("A")

log = logging.getLogger(__name__)

STATE_VERSION = 3  # 3: batched updates, arrival order; 2: our own Adam's state
_ADVANTAGE_CLIP = 5.0
MAX_REPLAY_UPDATES = 50  # updates a long replay takes (module docstring)


class ReinforceStrategy(SearchStrategy[A], Generic[A]):
    """The ENAS controller of the space's kind, trained with REINFORCE on batches of trials."""

    name = "reinforce"

    def __init__(self, space: Space[A], objective: Objective, settings: EnasSettings) -> None:
        super().__init__(space, objective, settings)
        self.fingerprint = _fingerprint(space, objective, settings)
        s = settings
        self.policy = space.policy(
            PolicyConfig(
                s.controller_hidden_size,
                s.controller_temperature,
                s.controller_tanh_const,
                s.controller_skip_target,
            ),
            s.seed,
        )
        # beta1 = 0 and eps = 1e-3 as in the original ENAS controller: noisy small batches.
        self.optimizer = Adam(
            self.policy.parameters(), lr=s.controller_learning_rate, betas=(0.0, 0.999), eps=1e-3
        )
        self.baseline: float | None = None
        self.reward_count = 0
        self.reward_mean = 0.0
        self.reward_m2 = 0.0
        self.worst_reward: float | None = None
        self.updates = 0
        # Trials learned but not yet in an update: (architecture, advantage, reward).
        self.pending: list[tuple[A, float, float]] = []
        self._batch = settings.controller_batch_size  # larger during a long replay

    def suggest(self, count: int, key: int) -> list[A]:
        generator = torch.Generator().manual_seed(mix_seed(self.settings.seed, key))
        self.policy.eval()
        return [self.policy.sample(generator) for _ in range(count)]

    def _reward(self, judgement: Judgement) -> float | None:
        if judgement.outcome is Outcome.SUCCEEDED:
            assert judgement.reward is not None
            self.worst_reward = (
                judgement.reward
                if self.worst_reward is None
                else min(self.worst_reward, judgement.reward)
            )
            return judgement.reward
        fixed = self.settings.failed_reward_value
        if fixed is not None:
            return self.objective.reward(fixed)
        if self.settings.failed_trial_reward == "worst":
            return self.worst_reward
        return None

    def _advantage(self, reward: float) -> float:
        """Reward minus the moving-average baseline (updated first, as in the original code),
        over the running standard deviation of rewards (Welford), clipped."""
        self.reward_count += 1
        delta = reward - self.reward_mean
        self.reward_mean += delta / self.reward_count
        self.reward_m2 += delta * (reward - self.reward_mean)
        decay = self.settings.controller_baseline_decay
        self.baseline = (
            reward if self.baseline is None else decay * self.baseline + (1 - decay) * reward
        )
        std = math.sqrt(self.reward_m2 / (self.reward_count - 1)) if self.reward_count > 1 else 0.0
        advantage = (reward - self.baseline) / std if std > 1e-12 else 0.0
        return max(-_ADVANTAGE_CLIP, min(_ADVANTAGE_CLIP, advantage))

    def _learn(self, architecture: A, judgement: Judgement, report: LearnReport) -> None:
        reward = self._reward(judgement)
        if reward is None:
            return
        self.pending.append((architecture, self._advantage(reward), reward))
        if len(self.pending) >= self._batch:
            self._update(report)

    def _start_learning(self, trials: int, replay: bool) -> None:
        batch = self.settings.controller_batch_size
        if replay and trials > EXACT_REPLAY_TRIALS:
            batch = max(batch, math.ceil(trials / MAX_REPLAY_UPDATES))
        self._batch = batch

    def _finish_learning(self, report: LearnReport) -> None:
        # A long replay's last, partial batch: learned now if live learning would have taken
        # it, so that what stays pending is less than `controller_batch_size`, as live.
        if len(self.pending) >= self.settings.controller_batch_size:
            self._update(report)
        self._batch = self.settings.controller_batch_size

    def _update(self, report: LearnReport) -> None:
        """One REINFORCE update (`controller_train_steps` gradient steps) on the pending batch."""
        s = self.settings
        architectures = [a for a, _, _ in self.pending]
        advantages = torch.tensor([adv for _, adv, _ in self.pending])
        self.policy.train()
        for _ in range(s.controller_train_steps):
            terms = self.policy.evaluate(architectures)
            loss = -(advantages * terms.log_prob).mean()
            if s.controller_entropy_weight is not None:
                loss = loss - s.controller_entropy_weight * terms.entropy.mean()
            if s.controller_skip_weight is not None:
                loss = loss + s.controller_skip_weight * terms.penalty.mean()
            self.optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            if s.controller_grad_bound is not None:
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), s.controller_grad_bound)
            self.optimizer.step()
        self.updates += 1
        report.updates += 1
        report.last_reward = self.pending[-1][2]
        report.loss = float(loss.detach())
        report.entropy = float(terms.entropy.detach().mean())
        report.baseline = self.baseline
        mean_reward = sum(r for _, _, r in self.pending) / len(self.pending)
        report.history.append(
            ControllerUpdate(
                self.updates,
                len(self.pending),
                mean_reward,
                float(self.baseline or 0.0),
                report.loss,
                report.entropy,
                self.space.decisions([d.tolist() for d in terms.distributions]),
            )
        )
        if self.updates % s.controller_log_every_steps == 0:
            log.info(
                "controller update %d (%d trials): mean reward=%.4f baseline=%.4f loss=%.4f "
                "entropy=%.3f skip_rate=%.3f",
                self.updates,
                len(self.pending),
                mean_reward,
                self.baseline,
                report.loss,
                report.entropy,
                terms.skip_rate,
            )
        self.pending.clear()

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "fingerprint": self.fingerprint,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "reward_stats": (self.reward_count, self.reward_mean, self.reward_m2),
            "worst_reward": self.worst_reward,
            "updates": self.updates,
            "learned": self._learned_state(),
            # Architectures as their assignments: a checkpoint holds only plain data.
            "pending": [(self.space.encode(a), adv, r) for a, adv, r in self.pending],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION or state.get("fingerprint") != self.fingerprint:
            raise KatibEnasError("saved controller state belongs to another experiment setup")
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.reward_count, self.reward_mean, self.reward_m2 = state["reward_stats"]
        self.worst_reward = state["worst_reward"]
        self.updates = state["updates"]
        self._restore_learned(state["learned"])
        self.pending = [(self.space.decode(a), adv, r) for a, adv, r in state["pending"]]


def _fingerprint(space: Space[Any], objective: Objective, settings: EnasSettings) -> str:
    """Identifies what a saved state is valid for: the space, what is rewarded and how, and
    every setting but the logging cadence."""
    parts = repr(
        (
            space,
            objective.type,
            objective.metric_name,
            {k: v for k, v in vars(settings).items() if k != "controller_log_every_steps"},
        )
    )
    return hashlib.sha256(parts.encode()).hexdigest()[:16]
