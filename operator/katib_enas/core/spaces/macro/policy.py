"""The ENAS macro controller: per layer, an operation from a softmax over all op ids, then one
skip bit per earlier layer from an attention score `v . tanh(W1 h_j + W2 h_i)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from katib_enas.core.policies import (
    Policy,
    PolicyConfig,
    PolicyTerms,
    Trace,
    categorical,
    squash,
    uniform_init,
)
from katib_enas.core.spaces.macro.format import Architecture, Layer


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
        uniform_init(self, seed)

    def sample(self, generator: torch.Generator) -> Architecture:
        with torch.no_grad():
            architecture, _ = self._walk(None, generator)
        return architecture

    def evaluate(self, architecture: Architecture) -> PolicyTerms:
        _, terms = self._walk(architecture, None)
        return terms

    def _squash(self, logits: Tensor) -> Tensor:
        return squash(logits, self.config)

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
        trace = Trace()
        layers: list[Layer] = []
        skips_taken = skips_total = 0
        for index in range(self.num_layers):
            h, c = self.lstm(inputs, (h, c))
            logits = self._squash(self.w_soft(h))[0]
            known = None if given is None else given.layers[index].op_id
            op_id = categorical(logits, known, generator, trace)
            inputs = self.w_emb.weight[op_id].unsqueeze(0)

            h, c = self.lstm(inputs, (h, c))
            bits: tuple[int, ...] = ()
            if index > 0:
                known_bits = None if given is None else given.layers[index].skips
                bits, inputs = self._skips(h, anchors, anchors_w1, known_bits, generator, trace)
                skips_taken += sum(bits)
                skips_total += len(bits)
            else:
                inputs = self.g_emb
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
            layers.append(Layer(op_id, bits))
        penalties = trace.penalties
        penalty = torch.stack(penalties).sum() / skips_total if penalties else torch.zeros(())
        terms = PolicyTerms(
            log_prob=torch.stack(trace.log_probs).sum(),
            entropy=torch.stack(trace.entropies).sum(),
            penalty=penalty,
            skip_rate=skips_taken / skips_total if skips_total else 0.0,
        )
        return Architecture(tuple(layers)), terms

    def _skips(  # noqa: PLR0917 (the walk's state, passed through once per layer)
        self,
        h: Tensor,
        anchors: list[Tensor],
        anchors_w1: list[Tensor],
        given: tuple[int, ...] | None,
        generator: torch.Generator | None,
        trace: Trace,
    ) -> tuple[tuple[int, ...], Tensor]:
        """One skip bit per earlier layer by attention; the next LSTM input (their average)."""
        query = torch.tanh(torch.cat(anchors_w1, dim=0) + self.w_attn_2(h))
        score = self._squash_pair(self.v_attn(query))  # (index, 2)
        log_q = torch.log_softmax(score, dim=-1)
        if given is None:
            picks = torch.multinomial(log_q.exp(), 1, generator=generator).squeeze(1)
            bits = tuple(int(b) for b in picks.tolist())
        else:
            bits = given
            picks = torch.tensor(bits, dtype=torch.long)
        trace.record(log_q, log_q.gather(1, picks.unsqueeze(1)).sum())
        target = self.config.skip_target
        p_skip = log_q[:, 1].exp().clamp(1e-6, 1 - 1e-6)
        kl = p_skip * torch.log(p_skip / target) + (1 - p_skip) * torch.log(
            (1 - p_skip) / (1 - target)
        )
        trace.penalties.append(kl.sum())
        weights = picks.to(torch.float32).unsqueeze(0)  # (1, index)
        return bits, weights @ torch.cat(anchors, dim=0) / (1.0 + weights.sum())

    def _squash_pair(self, logit: Tensor) -> Tensor:
        """Two-way logits (no skip, skip) from one attention score, squashed like op logits."""
        return self._squash(torch.cat([-logit, logit], dim=1))
