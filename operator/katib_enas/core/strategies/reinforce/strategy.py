"""ENAS as a multi-trial strategy: REINFORCE on the architectures trials really ran.

Generic over the space kind: the space supplies the controller (`Space.policy`).

Each finished trial is one sample: its own architecture, its own reward. The reward and its
advantage (the failed-trial rule, the moving baseline, the normalisation and the clip) come from
`katib_enas.core.rewards`, which any policy-gradient strategy can reuse. The loss adds an entropy
bonus and the skip penalty; the gradient's norm is clipped. This is the stock service's bug
fixed: it pushed freshly sampled architectures with one global mean reward, so what trials ran
never reached the gradient.

A replay of a long history (a restart without a checkpoint, more than `EXACT_REPLAY_TRIALS`
finished trials) is learned in at most `MAX_REPLAY_UPDATES` updates: each trial's reward,
baseline and advantage exactly as live, but the gradient averaged over batches of
ceil(N / MAX_REPLAY_UPDATES) trials instead of `controller_batch_size`. Each update costs about
the same whatever its batch, so 10,000 trials cost 50 updates instead of 2,500; the state it
reaches approximates the lost one (the same trials and rewards, fewer and larger steps).

torch is imported inside the methods that use it: the settings catalogue (`core.settings`) reads
this module's declarations, and the Experiment model reads the catalogue without paying for
torch.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from katib_enas.core import rewards
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Objective
from katib_enas.core.settings_schema import EnasSettings
from katib_enas.core.spaces import Space
from katib_enas.core.strategies.base import (
    EXACT_REPLAY_TRIALS,
    LearnReport,
    SearchStrategy,
    mix_seed,
)
from katib_enas.core.strategies.reinforce.settings import SETTINGS
from katib_enas.core.trials import Judgement
from katib_enas.core.updates import ControllerUpdate

A = TypeVar("A")

log = logging.getLogger(__name__)

STATE_VERSION = 3  # 3: batched updates, arrival order; 2: our own Adam's state
MAX_REPLAY_UPDATES = 50  # updates a long replay takes (module docstring)


class ReinforceStrategy(SearchStrategy[A], Generic[A]):
    """The ENAS controller of the space's kind, trained with REINFORCE on batches of trials."""

    name = "reinforce"
    owned_settings = SETTINGS

    def __init__(self, space: Space[A], objective: Objective, settings: EnasSettings) -> None:
        from katib_enas.core.policies import PolicyConfig
        from katib_enas.optim import Adam

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
        self.shaping = rewards.RewardShaping(
            objective, s.failed_trial_reward, s.controller_baseline_decay
        )
        self.updates = 0
        # Trials learned but not yet in an update: (architecture, advantage, reward).
        self.pending: list[tuple[A, float, float]] = []
        self._batch = settings.controller_batch_size  # larger during a long replay

    # The shaping's numbers, as the replay tests and the report read them.
    @property
    def baseline(self) -> float | None:
        return self.shaping.baseline

    @property
    def reward_count(self) -> int:
        return self.shaping.reward_count

    @property
    def reward_mean(self) -> float:
        return self.shaping.reward_mean

    @property
    def reward_m2(self) -> float:
        return self.shaping.reward_m2

    @property
    def worst_reward(self) -> float | None:
        return self.shaping.worst_reward

    def suggest(self, count: int, key: int) -> list[A]:
        import torch

        generator = torch.Generator().manual_seed(mix_seed(self.settings.seed, key))
        self.policy.eval()
        return [self.policy.sample(generator) for _ in range(count)]

    def _learn(self, architecture: A, judgement: Judgement, report: LearnReport) -> None:
        reward = self.shaping.reward(judgement)
        if reward is None:
            return
        self.pending.append((architecture, self.shaping.advantage(reward), reward))
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
        import torch

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
            "baseline": self.shaping.baseline,
            "reward_stats": (
                self.shaping.reward_count,
                self.shaping.reward_mean,
                self.shaping.reward_m2,
            ),
            "worst_reward": self.shaping.worst_reward,
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
        shaping = self.shaping
        shaping.baseline = state["baseline"]
        shaping.reward_count, shaping.reward_mean, shaping.reward_m2 = state["reward_stats"]
        shaping.worst_reward = state["worst_reward"]
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
