"""ENAS's micro controller: node by node, two inputs by attention over the cell's inputs and
earlier nodes, then an operation for each; the normal cell first, then the reduction cell, the
LSTM's state carried from one to the other.

As in the original code, operation logits get a learned bias that starts strongly in favour of
separable convolutions, and a fixed bias that keeps nudging towards them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch
from torch import Tensor, nn

from katib_enas.core.policies import (
    LstmPolicy,
    PolicyConfig,
    PolicyTerms,
    Trace,
    choose,
    squash,
)
from katib_enas.core.spaces.micro.format import Cell, MicroArchitecture, Node

# ENAS divides the tanh constant by this for operation logits (`op_tanh_reduce`).
OP_TANH_REDUCE = 2.5


class MicroPolicy(LstmPolicy[MicroArchitecture]):
    """Samples and scores (normal, reduction) cell pairs of `num_nodes` nodes each."""

    def __init__(
        self,
        num_nodes: int,
        num_operations: int,
        favoured: Sequence[int],
        config: PolicyConfig,
        seed: int,
    ) -> None:
        super().__init__(num_operations, config, seed)
        self.num_nodes = num_nodes
        tanh = config.tanh_const
        self.op_config = replace(config, tanh_const=None if tanh is None else tanh / OP_TANH_REDUCE)
        favour = torch.tensor([i in set(favoured) for i in range(num_operations)])
        # The learned bias starts at 10 for the favoured operations (ENAS: the separable
        # convolutions); the fixed one stays at +-0.25.
        self.b_soft = nn.Parameter(favour.to(torch.float32) * 10.0)
        self.b_fixed = favour.to(torch.float32) * 0.5 - 0.25

    def walk(
        self, given: Sequence[MicroArchitecture] | None, generator: torch.Generator | None
    ) -> tuple[list[MicroArchitecture], PolicyTerms]:
        batch = 1 if given is None else len(given)
        hidden = self.config.hidden_size
        state = (torch.zeros(batch, hidden), torch.zeros(batch, hidden))
        trace = Trace()
        cells: list[list[Tensor]] = []  # per cell: (B, 4) rows per node
        for cell_index in range(2):
            known = None if given is None else _rows(given, cell_index)
            rows, state = self._cell(state, known, generator, trace)
            cells.append(rows)
        terms = PolicyTerms(
            log_prob=Trace.total(trace.log_probs, batch),
            entropy=Trace.total(trace.entropies, batch),
            distributions=tuple(trace.distributions),
            penalty=torch.zeros(batch),
            skip_rate=0.0,
        )
        return (_architectures(cells) if given is None else list(given)), terms

    def _cell(
        self,
        state: tuple[Tensor, Tensor],
        known: Tensor | None,  # (B, nodes, 4)
        generator: torch.Generator | None,
        trace: Trace,
    ) -> tuple[list[Tensor], tuple[Tensor, Tensor]]:
        """One cell's decisions; the LSTM state goes on to the next cell."""
        h, c = state
        batch = h.shape[0]
        inputs = self.g_emb.expand(batch, -1)
        anchors: list[Tensor] = []
        anchors_w1: list[Tensor] = []
        for _ in range(2):  # the two cell inputs: zero anchors, as in the original code
            h, c = self.lstm(inputs, (h, c))
            anchors.append(torch.zeros_like(h))
            anchors_w1.append(self.w_attn_1(h))
        rows = []
        for node in range(self.num_nodes):
            picks: list[Tensor] = []
            for slot in (0, 2):  # the two input indices, by attention
                h, c = self.lstm(inputs, (h, c))
                query = torch.tanh(torch.stack(anchors_w1, dim=1) + self.w_attn_2(h).unsqueeze(1))
                logits = squash(self.v_attn(query).squeeze(-1), self.config)  # (B, node + 2)
                given = None if known is None else known[:, node, slot]
                index, _ = choose(torch.log_softmax(logits, -1), given, generator, trace)
                picks.append(index)
                inputs = torch.stack(anchors, dim=1)[torch.arange(batch), index]
            ops: list[Tensor] = []
            for slot in (1, 3):  # an operation for each input
                h, c = self.lstm(inputs, (h, c))
                given = None if known is None else known[:, node, slot]
                op, _ = choose(torch.log_softmax(self._op_logits(h), -1), given, generator, trace)
                ops.append(op)
                inputs = self.w_emb.weight[op]
            h, c = self.lstm(inputs, (h, c))
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
            inputs = self.g_emb.expand(batch, -1)
            rows.append(torch.stack([picks[0], ops[0], picks[1], ops[1]], dim=1))
        return rows, (h, c)

    def _op_logits(self, h: Tensor) -> Tensor:
        return squash(self.w_soft(h) + self.b_soft, self.op_config) + self.b_fixed


def _rows(given: Sequence[MicroArchitecture], cell_index: int) -> Tensor:
    return torch.tensor(
        [
            [[n.input_1, n.op_1, n.input_2, n.op_2] for n in a.cells[cell_index].nodes]
            for a in given
        ],
        dtype=torch.long,
    )


def _architectures(cells: list[list[Tensor]]) -> list[MicroArchitecture]:
    batch = len(cells[0][0])

    def cell(rows: list[Tensor], b: int) -> Cell:
        return Cell(tuple(Node(*(int(v) for v in row[b].tolist())) for row in rows))

    return [MicroArchitecture(cell(cells[0], b), cell(cells[1], b)) for b in range(batch)]
