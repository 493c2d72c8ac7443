"""The controller seam: an LSTM policy that samples architectures decision by decision.

A `Policy` samples an architecture with a seeded generator and scores a given architecture
(log-probability, entropy, auxiliary penalty) so that REINFORCE can train it on the
architectures trials really ran. Each search-space kind has its own policy (its decision
schedule) beside its format (`katib_enas.core.spaces.<kind>.policy`); what they share lives here:
the configuration, the terms they return, and the logit squashing of the original controller.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
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
    """What the learner needs from a batch of architectures under the current policy: one
    differentiable value per architecture."""

    log_prob: Tensor  # (B,) log-probability of each architecture
    entropy: Tensor  # (B,) entropy of the decisions along each architecture's path
    penalty: Tensor  # (B,) auxiliary penalty (macro: KL of skip rates to their target)
    skip_rate: float  # share of skip bits set, over the batch (0 without skips)
    # Per decision, in the walk's order: each choice's probability averaged over the batch,
    # (..., choices), detached (`Space.decisions` names them).
    distributions: tuple[Tensor, ...] = ()


class Policy(nn.Module, abc.ABC, Generic[A]):
    """A controller over one search space."""

    @abc.abstractmethod
    def sample(self, generator: torch.Generator) -> A:
        """Draw one architecture (no gradient), drawing only from `generator`."""

    @abc.abstractmethod
    def evaluate(self, architectures: Sequence[A]) -> PolicyTerms:
        """Score `architectures` under the current parameters (with gradient), in one pass:
        a REINFORCE update averages over a batch of trials."""


class LstmPolicy(Policy[A]):
    """The body of ENAS's controllers, the same for every kind: an LSTM cell fed a start
    embedding and the embedding of each operation taken, an operation softmax, and additive
    attention (`v . tanh(W1 h_j + W2 h_i)`) over earlier steps for skips and node inputs. Weights
    start uniform in [-0.1, 0.1], drawn in this order from `seed`."""

    def __init__(self, num_operations: int, config: PolicyConfig, seed: int) -> None:
        super().__init__()
        self.num_operations = num_operations
        self.config = config
        hidden = config.hidden_size
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.g_emb = nn.Parameter(torch.empty(1, hidden))
        self.w_emb = nn.Embedding(num_operations, hidden)
        self.w_soft = nn.Linear(hidden, num_operations, bias=False)
        self.w_attn_1 = nn.Linear(hidden, hidden, bias=False)
        self.w_attn_2 = nn.Linear(hidden, hidden, bias=False)
        self.v_attn = nn.Linear(hidden, 1, bias=False)
        uniform_init(self, seed)

    def sample(self, generator: torch.Generator) -> A:
        with torch.no_grad():
            architectures, _ = self.walk(None, generator)
        return architectures[0]

    def evaluate(self, architectures: Sequence[A]) -> PolicyTerms:
        _, terms = self.walk(architectures, None)
        return terms

    @abc.abstractmethod
    def walk(
        self, given: Sequence[A] | None, generator: torch.Generator | None
    ) -> tuple[list[A], PolicyTerms]:
        """Run the LSTM over every decision of a batch: sample one architecture (`given` None,
        drawing from `generator`) or score the `given` ones (with gradient)."""


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
    """Per-architecture terms that one walk over a batch's decisions collects; summed once at
    the end (one autograd node per term instead of one per decision)."""

    log_probs: list[Tensor] = field(default_factory=list)  # each (B,)
    entropies: list[Tensor] = field(default_factory=list)  # each (B,)
    penalties: list[Tensor] = field(default_factory=list)  # each (B,)
    distributions: list[Tensor] = field(default_factory=list)  # each (..., choices)

    def record(self, log_p: Tensor, picked: Tensor) -> Tensor:
        """`log_p`: (B, ..., choices) log-probabilities; `picked`: (B, ...) the choices taken.
        Returns `p * log p` (B, ..., choices), which a penalty may reuse."""
        taken = log_p.gather(-1, picked.unsqueeze(-1)).squeeze(-1)
        p = log_p.exp()
        p_log_p = p * log_p
        self.distributions.append(p.detach().mean(0))
        if taken.dim() == 1:
            self.log_probs.append(taken)
            self.entropies.append(-p_log_p.sum(-1))
        else:
            self.log_probs.append(taken.flatten(1).sum(1))
            self.entropies.append(-p_log_p.flatten(1).sum(1))
        return p_log_p

    @staticmethod
    def total(terms: list[Tensor], batch: int) -> Tensor:
        return torch.stack(terms).sum(0) if terms else torch.zeros(batch)


def choose(
    log_p: Tensor, given: Tensor | None, generator: torch.Generator | None, trace: Trace
) -> tuple[Tensor, Tensor]:
    """Draw one choice per row of `log_p` (B, ..., choices), or take `given` (B, ...) when
    scoring; trace their log-probabilities and entropies. Returns the choices and `p log p`."""
    if given is None:
        flat = log_p.reshape(-1, log_p.shape[-1]).exp()
        given = torch.multinomial(flat, 1, generator=generator).reshape(log_p.shape[:-1])
    return given, trace.record(log_p, given)
