"""The ENAS macro controller: per layer, an operation from a softmax over all op ids, then one
skip bit per earlier layer from an attention score `v . tanh(W1 h_j + W2 h_i)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from katib_enas.core.policies import (
    LstmPolicy,
    PolicyConfig,
    PolicyTerms,
    Trace,
    choose,
    squash,
)
from katib_enas.core.spaces.macro.format import Architecture, Layer


class MacroPolicy(LstmPolicy[Architecture]):
    """ENAS macro controller: one op per layer plus skip connections to earlier layers."""

    def __init__(
        self, num_layers: int, num_operations: int, config: PolicyConfig, seed: int
    ) -> None:
        super().__init__(num_operations, config, seed)
        self.num_layers = num_layers
        target = config.skip_target
        # log of the target distribution over {no skip, skip}, for the skip penalty's KL
        self.log_skip_target = torch.tensor([math.log(1 - target), math.log(target)])

    def _squash(self, logits: Tensor) -> Tensor:
        return squash(logits, self.config)

    def walk(
        self, given: Sequence[Architecture] | None, generator: torch.Generator | None
    ) -> tuple[list[Architecture], PolicyTerms]:
        """Run the LSTM over all decisions of a batch: sample one architecture (`given` None)
        or score the `given` ones."""
        batch = 1 if given is None else len(given)
        known_ops, known_bits = (None, None) if given is None else _choices(given)
        hidden = self.config.hidden_size
        h = torch.zeros(batch, hidden)
        c = torch.zeros(batch, hidden)
        start = self.g_emb.expand(batch, hidden)
        inputs = start
        anchors: list[Tensor] = []  # (B, H) per layer
        anchors_w1: list[Tensor] = []
        trace = Trace()
        ops: list[Tensor] = []
        bits: list[Tensor] = []
        for index in range(self.num_layers):
            h, c = self.lstm(inputs, (h, c))
            log_p = torch.log_softmax(self._squash(self.w_soft(h)), dim=-1)  # (B, ops)
            op, _ = choose(
                log_p, None if known_ops is None else known_ops[:, index], generator, trace
            )
            ops.append(op)
            inputs = self.w_emb.weight[op]

            h, c = self.lstm(inputs, (h, c))
            if index > 0:
                known = None if known_bits is None else known_bits[index - 1]
                picks, inputs = self._skips(h, anchors, anchors_w1, known, generator, trace)
                bits.append(picks)
            else:
                inputs = start
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
        skips_total = self.num_layers * (self.num_layers - 1) // 2
        taken = sum(int(b.sum()) for b in bits)
        penalty = Trace.total(trace.penalties, batch)
        terms = PolicyTerms(
            log_prob=Trace.total(trace.log_probs, batch),
            entropy=Trace.total(trace.entropies, batch),
            distributions=tuple(trace.distributions),
            penalty=penalty / skips_total if skips_total else penalty,
            skip_rate=taken / (skips_total * batch) if skips_total else 0.0,
        )
        return (_architectures(ops, bits) if given is None else list(given)), terms

    def _skips(  # noqa: PLR0917 (the walk's state, passed through once per layer)
        self,
        h: Tensor,
        anchors: list[Tensor],
        anchors_w1: list[Tensor],
        given: Tensor | None,
        generator: torch.Generator | None,
        trace: Trace,
    ) -> tuple[Tensor, Tensor]:
        """One skip bit per earlier layer by attention (B, index); the next LSTM input, the
        average of the layers picked."""
        query = torch.tanh(torch.stack(anchors_w1, dim=1) + self.w_attn_2(h).unsqueeze(1))
        score = self._squash_pair(self.v_attn(query))  # (B, index, 2)
        log_q = torch.log_softmax(score, dim=-1)
        picks, q_log_q = choose(log_q, given, generator, trace)
        # KL(q || target) per skip decision: sum over {no skip, skip} of q (log q - log target).
        kl = q_log_q - log_q.exp() * self.log_skip_target
        trace.penalties.append(kl.flatten(1).sum(1))
        weights = picks.to(torch.float32).unsqueeze(1)  # (B, 1, index)
        average = (weights @ torch.stack(anchors, dim=1)).squeeze(1) / (1.0 + weights.sum(-1))
        return picks, average

    def _squash_pair(self, logit: Tensor) -> Tensor:
        """Two-way logits (no skip, skip) from one attention score, squashed like op logits."""
        return self._squash(torch.cat([-logit, logit], dim=-1))


def _choices(given: Sequence[Architecture]) -> tuple[Tensor, list[Tensor]]:
    """The batch's op ids (B, L) and, per layer i >= 1, its skip bits (B, i)."""
    ops = torch.tensor([a.op_ids for a in given], dtype=torch.long)
    layers = len(given[0].layers)
    bits = [
        torch.tensor([a.layers[i].skips for a in given], dtype=torch.long) for i in range(1, layers)
    ]
    return ops, bits


def _architectures(ops: list[Tensor], bits: list[Tensor]) -> list[Architecture]:
    """The batch's architectures from the per-layer choices (B,) and skip picks (B, index)."""
    batch = len(ops[0])
    return [
        Architecture(
            tuple(
                Layer(int(ops[i][b]), tuple(int(x) for x in bits[i - 1][b].tolist()) if i else ())
                for i in range(len(ops))
            )
        )
        for b in range(batch)
    ]
