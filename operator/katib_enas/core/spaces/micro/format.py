"""The one source of truth for the micro (cell) space's assignment format.

The suggestion service encodes with this module and the trial decodes with it. Both values are
JSON with every `"` replaced by `'`, like the macro format, so they pass Katib's template
substitution and `sh -c` unchanged.

- `architecture`: `{'normal': [[i1, op1, i2, op2], ...], 'reduction': [...]}`, one row per node
  of each cell (ENAS's encoding: per node, two inputs and one operation id for each). Input 0 is
  the output of the cell two back, 1 the previous cell's, 2.. the cell's earlier nodes.
- `nn_config`: `{'kind': 'micro', 'num_cells', 'num_nodes', 'init_channels', 'stem_multiplier',
  'input_sizes', 'output_sizes', 'embedding': {"<op_id>": {opt_id, opt_type, opt_params}}}`, the
  embedding holding the operations this architecture uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from katib_enas.core.errors import InvalidArchitectureError
from katib_enas.core.katib import to_katib_json
from katib_enas.core.spaces.assignment_json import (
    check_embedding_covers,
    decode_embedding,
    decode_json,
    is_int,
    positive_int,
    positive_sizes,
)
from katib_enas.core.spaces.catalogue import OperationCatalogue
from katib_enas.core.spaces.operations import Operation

KIND = "micro"
CELLS = ("normal", "reduction")


@dataclass(frozen=True)
class Node:
    """One node of a cell: the sum of two inputs, each through one operation."""

    input_1: int
    op_1: int
    input_2: int
    op_2: int

    @property
    def inputs(self) -> tuple[int, int]:
        return (self.input_1, self.input_2)

    @property
    def ops(self) -> tuple[int, int]:
        return (self.op_1, self.op_2)


@dataclass(frozen=True)
class Cell:
    nodes: tuple[Node, ...]

    def unused(self) -> tuple[int, ...]:
        """The nodes no other node reads (their outputs are concatenated), as input indices."""
        read = {i for node in self.nodes for i in node.inputs}
        return tuple(2 + n for n in range(len(self.nodes)) if 2 + n not in read)


@dataclass(frozen=True)
class MicroArchitecture:
    """A micro child: its normal cell and its reduction cell."""

    normal: Cell
    reduction: Cell

    @property
    def cells(self) -> tuple[Cell, Cell]:
        return (self.normal, self.reduction)

    @property
    def op_ids(self) -> tuple[int, ...]:
        return tuple(op for cell in self.cells for node in cell.nodes for op in node.ops)

    def encode(self) -> str:
        """The `architecture` assignment value."""
        return to_katib_json(
            {
                name: [[n.input_1, n.op_1, n.input_2, n.op_2] for n in cell.nodes]
                for name, cell in zip(CELLS, self.cells, strict=True)
            }
        )

    def check(self, num_nodes: int, num_operations: int) -> None:
        """Raise unless this architecture fits a space (node counts, inputs, op ids)."""
        for name, cell in zip(CELLS, self.cells, strict=True):
            rows = [[n.input_1, n.op_1, n.input_2, n.op_2] for n in cell.nodes]
            _check_cell(rows, name, num_nodes, num_operations)


@dataclass(frozen=True)
class MicroConfig:
    """A decoded micro `nn_config`: the network's shape and the operations this child uses."""

    num_cells: int
    num_nodes: int
    init_channels: int
    stem_multiplier: int
    input_sizes: tuple[int, ...]
    output_sizes: tuple[int, ...]
    embedding: Mapping[int, Operation]

    def reduction_cells(self) -> tuple[int, ...]:
        """Positions of the reduction cells: after a third and two thirds of the cells."""
        return reduction_positions(self.num_cells)


def reduction_positions(num_cells: int) -> tuple[int, ...]:
    """As DARTS and ENAS place them: cells `N // 3` and `2 N // 3` (distinct, when N >= 3)."""
    return tuple(sorted({num_cells // 3, 2 * num_cells // 3})) if num_cells >= 3 else ()


def encode_nn_config(config: MicroConfig) -> str:
    return to_katib_json(
        {
            "kind": KIND,
            "num_cells": config.num_cells,
            "num_nodes": config.num_nodes,
            "init_channels": config.init_channels,
            "stem_multiplier": config.stem_multiplier,
            "input_sizes": list(config.input_sizes),
            "output_sizes": list(config.output_sizes),
            "embedding": {
                str(op_id): op.to_embedding() for op_id, op in sorted(config.embedding.items())
            },
        }
    )


def decode_architecture(text: str) -> MicroArchitecture:
    """Parse an `architecture` value as Katib passes it (shape only; see `check`)."""
    raw = decode_json(text, "architecture")
    if not isinstance(raw, dict) or set(raw) != set(CELLS):
        raise InvalidArchitectureError(
            "architecture: expected an object with the cells 'normal' and 'reduction'"
        )
    cells = []
    for name in CELLS:
        rows = raw[name]
        if not isinstance(rows, list) or not rows:
            raise InvalidArchitectureError(f"architecture.{name}: expected a list of node rows")
        _check_cell(rows, name, len(rows), None)
        cells.append(Cell(tuple(Node(*row) for row in rows)))
    if len(cells[0].nodes) != len(cells[1].nodes):
        raise InvalidArchitectureError(
            "architecture: both cells must have the same number of nodes"
        )
    return MicroArchitecture(cells[0], cells[1])


def decode_nn_config(text: str, catalogue: OperationCatalogue) -> MicroConfig:
    """Parse and validate a micro `nn_config` value as Katib passes it."""
    raw = decode_json(text, "nn_config")
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise InvalidArchitectureError("nn_config: expected an object with 'kind': 'micro'")
    return MicroConfig(
        positive_int(raw, "num_cells"),
        positive_int(raw, "num_nodes"),
        positive_int(raw, "init_channels"),
        positive_int(raw, "stem_multiplier"),
        positive_sizes(raw, "input_sizes"),
        positive_sizes(raw, "output_sizes"),
        decode_embedding(raw.get("embedding"), catalogue),
    )


def check_pair(architecture: MicroArchitecture, config: MicroConfig) -> None:
    """Raise unless `architecture` and `config` describe the same child."""
    for name, cell in zip(CELLS, architecture.cells, strict=True):
        if len(cell.nodes) != config.num_nodes:
            raise InvalidArchitectureError(
                f"architecture.{name} has {len(cell.nodes)} nodes but nn_config.num_nodes is "
                f"{config.num_nodes}"
            )
    check_embedding_covers(architecture.op_ids, config.embedding)


def _check_cell(
    rows: Sequence[object], name: str, num_nodes: int, num_operations: int | None
) -> None:
    if len(rows) != num_nodes:
        raise InvalidArchitectureError(
            f"architecture.{name}: expected {num_nodes} nodes, got {len(rows)}"
        )
    for index, row in enumerate(rows):
        where = f"architecture.{name}[{index}]"
        if not isinstance(row, list) or len(row) != 4 or not all(is_int(v) for v in row):
            raise InvalidArchitectureError(
                f"{where}: expected [input_1, op_1, input_2, op_2] integers, got {row!r}"
            )
        for position in (0, 2):
            if not 0 <= row[position] < index + 2:
                raise InvalidArchitectureError(
                    f"{where}: input {row[position]} does not exist yet (node {index} reads "
                    f"0..{index + 1}: the two cell inputs and the nodes before it)"
                )
        for position in (1, 3):
            op_id = row[position]
            if op_id < 0 or (num_operations is not None and op_id >= num_operations):
                raise InvalidArchitectureError(
                    f"{where}: op id {op_id} is outside the search space"
                )


# Weight sharing: where a micro child's tensors live in the supernet (see `SpaceKind`). Each cell
# position has its own tensors (as in ENAS); inside a cell, a node's two slots (`x`, `y`) each
# have tensors per (input, operation).
STEM_SCOPE = "micro/stem/"
HEAD_SCOPE = "micro/head/"


def cell_scope(cell: int) -> str:
    """A cell's fixed parts: its input preprocessing (`prep0/`, `prep1/`) and output (`out/`)."""
    return f"micro/cell{cell}/"


def node_scope(cell: int, node: int, slot: int, input_index: int, op_id: int) -> str:
    return f"micro/cell{cell}/node{node}/{'xy'[slot]}/in{input_index}/op{op_id}/"


def supernet_scopes(architecture: MicroArchitecture, config: MicroConfig) -> frozenset[str]:
    reductions = config.reduction_cells()
    scopes = {STEM_SCOPE, HEAD_SCOPE}
    for position in range(config.num_cells):
        cell = architecture.reduction if position in reductions else architecture.normal
        for name in ("prep0/", "prep1/", "out/"):
            scopes.add(cell_scope(position) + name)
        for index, node in enumerate(cell.nodes):
            for slot, (i, op) in enumerate(zip(node.inputs, node.ops, strict=True)):
                scopes.add(node_scope(position, index, slot, i, op))
    return frozenset(scopes)
