"""The controller seam: an LSTM policy that samples architectures decision by decision.

A `Policy` samples an architecture with a seeded generator and scores a given architecture
(log-probability, entropy, auxiliary penalty) so that REINFORCE can train it on the
architectures trials really ran. Each search-space kind has its own policy (its decision
schedule) beside its format (`katib_enas.core.spaces.<kind>.policy`); what they share lives here:
the configuration, the terms they return, and the logit squashing of the original controller.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import torch
from torch import Tensor, nn

A = TypeVar("A")


@dataclass(frozen=True)
class PolicyConfig:
    """Shape and squashing of a controller; see `EnasSettings` for meanings and defaults."""

    hidden_size: int
    temperature: float | None
    tanh_const: float | None
    skip_target: float


@dataclass(frozen=True)
class PolicyTerms:
    """What the learner needs from one architecture under the current policy."""

    log_prob: Tensor  # scalar, differentiable
    entropy: Tensor  # scalar, differentiable
    penalty: Tensor  # scalar, differentiable (macro: KL of skip rates to their target)
    skip_rate: float


class Policy(nn.Module, abc.ABC, Generic[A]):
    """A controller over one search space."""

    @abc.abstractmethod
    def sample(self, generator: torch.Generator) -> A:
        """Draw one architecture (no gradient)."""

    @abc.abstractmethod
    def evaluate(self, architecture: A) -> PolicyTerms:
        """Score `architecture` under the current parameters (with gradient)."""


def squash(logits: Tensor, config: PolicyConfig) -> Tensor:
    """ENAS's logit shaping: divide by the temperature, then `tanh_const * tanh(.)`."""
    if config.temperature is not None:
        logits = logits / config.temperature
    if config.tanh_const is not None:
        logits = config.tanh_const * torch.tanh(logits)
    return logits


def uniform_init(module: nn.Module, seed: int) -> None:
    """ENAS initialises every controller weight uniformly in [-0.1, 0.1]."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-0.1, 0.1, generator=generator)


@dataclass
class Trace:
    """What one walk over a policy's decisions collects for REINFORCE."""

    log_probs: list[Tensor] = field(default_factory=list)
    entropies: list[Tensor] = field(default_factory=list)
    penalties: list[Tensor] = field(default_factory=list)

    def record(self, log_p: Tensor, picked: Tensor) -> None:
        """`log_p`: log-probabilities of the choices; `picked`: their log-probability taken."""
        self.log_probs.append(picked)
        self.entropies.append(-(log_p.exp() * log_p).sum())


def categorical(
    logits: Tensor, given: int | None, generator: torch.Generator | None, trace: Trace
) -> int:
    """Sample one choice of `logits` (or take `given`, when scoring) and trace it."""
    log_p = torch.log_softmax(logits, dim=-1)
    if given is None:
        choice = int(torch.multinomial(log_p.exp(), 1, generator=generator).item())
    else:
        choice = given
    trace.record(log_p, log_p[choice])
    return choice
