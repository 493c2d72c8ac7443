"""The ENAS controller policies: LSTMs that sample child architectures decision by decision.

A `Policy` samples an architecture with a seeded generator and scores a given architecture
(log-probability, entropy, auxiliary penalty) so that REINFORCE can train it on the
architectures trials really ran. The macro policy is ENAS's: per layer, an operation from a
softmax over all op ids, then one skip bit per earlier layer from an attention score
`v . tanh(W1 h_j + W2 h_i)`. A micro (cell) policy plugs in by implementing the same two methods
over its own architecture type.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch
from torch import Tensor, nn

from katib_enas.core.architecture import Architecture, Layer

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


class MacroPolicy(Policy[Architecture]):
    """ENAS macro controller: one op per layer plus skip connections to earlier layers."""

    def __init__(
        self, num_layers: int, num_operations: int, config: PolicyConfig, seed: int
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
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
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in self.parameters():
                # ENAS initialises every controller weight uniformly in [-0.1, 0.1].
                parameter.uniform_(-0.1, 0.1, generator=generator)

    def sample(self, generator: torch.Generator) -> Architecture:
        with torch.no_grad():
            architecture, _ = self._walk(None, generator)
        return architecture

    def evaluate(self, architecture: Architecture) -> PolicyTerms:
        _, terms = self._walk(architecture, None)
        return terms

    def _squash(self, logits: Tensor) -> Tensor:
        if self.config.temperature is not None:
            logits = logits / self.config.temperature
        if self.config.tanh_const is not None:
            logits = self.config.tanh_const * torch.tanh(logits)
        return logits

    def _walk(
        self, given: Architecture | None, generator: torch.Generator | None
    ) -> tuple[Architecture, PolicyTerms]:
        """Run the LSTM over all decisions, sampling them (`given` None) or scoring `given`."""
        hidden = self.config.hidden_size
        h = torch.zeros(1, hidden)
        c = torch.zeros(1, hidden)
        inputs: Tensor = self.g_emb
        anchors: list[Tensor] = []
        anchors_w1: list[Tensor] = []
        log_probs: list[Tensor] = []
        entropies: list[Tensor] = []
        penalties: list[Tensor] = []
        layers: list[Layer] = []
        skips_taken = 0
        skips_total = 0
        target = self.config.skip_target
        for index in range(self.num_layers):
            h, c = self.lstm(inputs, (h, c))
            logits = self._squash(self.w_soft(h))[0]
            log_p = torch.log_softmax(logits, dim=-1)
            if given is None:
                op_id = int(torch.multinomial(log_p.exp(), 1, generator=generator).item())
            else:
                op_id = given.layers[index].op_id
            log_probs.append(log_p[op_id])
            entropies.append(-(log_p.exp() * log_p).sum())
            inputs = self.w_emb.weight[op_id].unsqueeze(0)

            h, c = self.lstm(inputs, (h, c))
            bits: tuple[int, ...] = ()
            if index > 0:
                query = torch.tanh(torch.cat(anchors_w1, dim=0) + self.w_attn_2(h))
                score = self._squash_pair(self.v_attn(query))  # (index, 2)
                log_q = torch.log_softmax(score, dim=-1)
                if given is None:
                    picks = torch.multinomial(log_q.exp(), 1, generator=generator).squeeze(1)
                    bits = tuple(int(b) for b in picks.tolist())
                else:
                    bits = given.layers[index].skips
                    picks = torch.tensor(bits, dtype=torch.long)
                log_probs.append(log_q.gather(1, picks.unsqueeze(1)).sum())
                entropies.append(-(log_q.exp() * log_q).sum())
                p_skip = log_q[:, 1].exp().clamp(1e-6, 1 - 1e-6)
                kl = p_skip * torch.log(p_skip / target) + (1 - p_skip) * torch.log(
                    (1 - p_skip) / (1 - target)
                )
                penalties.append(kl.sum())
                skips_taken += sum(bits)
                skips_total += len(bits)
                weights = picks.to(torch.float32).unsqueeze(0)  # (1, index)
                inputs = weights @ torch.cat(anchors, dim=0) / (1.0 + weights.sum())
            else:
                inputs = self.g_emb
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
            layers.append(Layer(op_id, bits))
        penalty = torch.stack(penalties).sum() / skips_total if penalties else torch.zeros(())
        terms = PolicyTerms(
            log_prob=torch.stack(log_probs).sum(),
            entropy=torch.stack(entropies).sum(),
            penalty=penalty,
            skip_rate=skips_taken / skips_total if skips_total else 0.0,
        )
        return Architecture(tuple(layers)), terms

    def _squash_pair(self, logit: Tensor) -> Tensor:
        """Two-way logits (no skip, skip) from one attention score, squashed like op logits."""
        return self._squash(torch.cat([-logit, logit], dim=1))
