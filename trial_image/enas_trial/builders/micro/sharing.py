"""Where a micro child's parameters live in the supernet.

Every cell position has its own tensors, as in ENAS: its input preprocessing (`prep0/`,
`prep1/`), per node and slot (x, y) one set per (input, operation) (`node_scope`), and its output
convolution, whose input is the concatenation of the nodes no node reads: one block per node.
The stem and the head have fixed shapes. BatchNorm statistics are the trial's own.
"""

from __future__ import annotations

from torch import nn

from enas_trial.builders.micro.model import MicroCell, MicroNetwork
from enas_trial.builders.micro.plan import MicroPlan
from enas_trial.sharing.blocks import SharedTensor, module_tensors, side_by_side
from katib_enas.core.spaces.micro.format import HEAD_SCOPE, STEM_SCOPE, cell_scope, node_scope


def shared_tensors(model: MicroNetwork, plan: MicroPlan) -> list[SharedTensor]:
    out = module_tensors(STEM_SCOPE, model.stem)
    arch = plan.architecture
    for cell_plan, cell in zip(plan.cells, model.cells, strict=True):
        assert isinstance(cell, MicroCell)
        scope = cell_scope(cell_plan.index)
        out += module_tensors(scope + "prep0/", cell.prep_0)
        out += module_tensors(scope + "prep1/", cell.prep_1)
        nodes = (arch.reduction if cell_plan.reduction else arch.normal).nodes
        for index, node in enumerate(nodes):
            for slot, (i, op) in enumerate(zip(node.inputs, node.ops, strict=True)):
                module = cell.ops[2 * index + slot]
                assert isinstance(module, nn.Module)
                out += module_tensors(node_scope(cell_plan.index, index, slot, i, op), module)
        conv, norm = cell.combine[1], cell.combine[2]
        assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
        parts = [(f"node{n}", cell_plan.channels) for n in cell.outputs]
        out.append(side_by_side(scope + "out/conv/", conv.weight, 1, parts))
        out += module_tensors(scope + "out/bn.", norm)
    out += module_tensors(HEAD_SCOPE, model.classifier)
    return out
