"""The micro (cell) search space of ENAS: a normal cell and a reduction cell, stacked.

`nasConfig.graphConfig.numLayers` is the number of cells in the network (reduction cells at a
third and two thirds, as DARTS and ENAS place them), `inputSizes`/`outputSizes` the images and
the classes, and `operations` the candidate operations of every node (the micro catalogue:
separable and plain convolutions, pooling, identity; channels and strides come from the cell).
The algorithm settings `num_nodes`, `init_channels` and `stem_multiplier` shape the cells (the
names Katib's DARTS uses for the same things).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from katib_enas.core.errors import InvalidSearchSpaceError, KatibEnasError
from katib_enas.core.katib import from_katib_json
from katib_enas.core.settings_schema import EnasSettings, Rule, Setting
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG, Space, SpaceKind, rounded
from katib_enas.core.spaces.catalogue import MICRO_OPERATION_TYPES
from katib_enas.core.spaces.micro.describe import (
    describe_cells,
    describe_micro_operation,
    input_name,
)
from katib_enas.core.spaces.micro.format import (
    CELLS,
    KIND,
    Cell,
    MicroArchitecture,
    MicroConfig,
    Node,
    check_pair,
    decode_architecture,
    decode_nn_config,
    encode_nn_config,
    reduction_positions,
    supernet_scopes,
)
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    Operation,
    check_graph,
    expand_operations,
)
from katib_enas.core.updates import Decision

if TYPE_CHECKING:
    import torch

    from katib_enas.core.policies import PolicyConfig
    from katib_enas.core.spaces.micro.policy import MicroPolicy


@dataclass(frozen=True)
class MicroSpace(Space[MicroArchitecture]):
    kind = KIND
    graph: GraphConfig
    operations: tuple[Operation, ...]
    num_nodes: int
    init_channels: int
    stem_multiplier: int

    @property
    def num_cells(self) -> int:
        return self.graph.num_layers

    @classmethod
    def from_nas_config(cls, nas: NasConfig, settings: EnasSettings) -> MicroSpace:
        check_graph(nas.graph)
        if len(nas.graph.input_sizes) not in (2, 3):
            raise InvalidSearchSpaceError(
                "nasConfig.graphConfig.inputSizes: the micro space builds image networks: "
                f"[height, width, channels] or [height, width], got {list(nas.graph.input_sizes)}"
            )
        operations = expand_operations(nas.operations, MICRO_OPERATION_TYPES)
        return cls(
            nas.graph,
            operations,
            settings.num_nodes,
            settings.init_channels,
            settings.stem_multiplier,
        )

    def policy(self, config: PolicyConfig, seed: int) -> MicroPolicy:
        from katib_enas.core.spaces.micro.policy import MicroPolicy

        favoured = [op.op_id for op in self.operations if op.op_type == "separable_convolution"]
        return MicroPolicy(self.num_nodes, len(self.operations), favoured, config, seed)

    def sample_uniform(self, generator: torch.Generator) -> MicroArchitecture:
        import torch

        def cell() -> Cell:
            nodes = []
            for node in range(self.num_nodes):
                picks = torch.randint(node + 2, (2,), generator=generator).tolist()
                ops = torch.randint(len(self.operations), (2,), generator=generator).tolist()
                nodes.append(Node(picks[0], ops[0], picks[1], ops[1]))
            return Cell(tuple(nodes))

        return MicroArchitecture(cell(), cell())

    def config_for(self, architecture: MicroArchitecture) -> MicroConfig:
        used = sorted(set(architecture.op_ids))
        return MicroConfig(
            self.num_cells,
            self.num_nodes,
            self.init_channels,
            self.stem_multiplier,
            self.graph.input_sizes,
            self.graph.output_sizes,
            {op_id: self.operations[op_id] for op_id in used},
        )

    def encode(self, architecture: MicroArchitecture) -> dict[str, str]:
        return {
            ARCHITECTURE: architecture.encode(),
            NN_CONFIG: encode_nn_config(self.config_for(architecture)),
        }

    def decode(self, assignments: Mapping[str, str]) -> MicroArchitecture:
        architecture = decode_architecture(assignments.get(ARCHITECTURE, ""))
        architecture.check(self.num_nodes, len(self.operations))
        return architecture

    def summary(self) -> str:
        return (
            f"micro: {self.num_cells} cells of {self.num_nodes} nodes x "
            f"{len(self.operations)} operations"
        )

    def decisions(self, distributions: Sequence[Any]) -> tuple[Decision, ...]:
        """Per cell (normal, then reduction), per node: its two inputs, then its two
        operations, as `MicroPolicy.walk` takes them."""
        names = tuple(describe_micro_operation(op) for op in self.operations)
        steps = iter(distributions)
        named: list[Decision] = []
        for cell in CELLS:
            for node in range(self.num_nodes):
                inputs = tuple(input_name(i) for i in range(node + 2))
                label = f"{cell} node {node + 2}"
                for slot in (1, 2):
                    named.append(Decision(f"{label}: input {slot}", inputs, rounded(next(steps))))
                for slot in (1, 2):
                    probabilities = rounded(next(steps))
                    named.append(Decision(f"{label}: operation {slot}", names, probabilities))
        return tuple(named)


SETTINGS = (
    Setting(
        "num_nodes",
        Rule(int, 1, 20),
        5,
        "Micro only: nodes per cell (ENAS and DARTS use 5 and 4). int in 1..20.",
    ),
    Setting(
        "init_channels",
        Rule(int, 1, 1024),
        20,
        """Micro only: channels of the first cells; each reduction cell doubles them (ENAS's
        search used 20, DARTS 16). int in 1..1024.""",
    ),
    Setting(
        "stem_multiplier",
        Rule(int, 1, 16),
        3,
        """Micro only: the stem convolution has `init_channels x stem_multiplier` channels (as in
        DARTS). int in 1..16.""",
    ),
)


class MicroKind(SpaceKind):
    name = KIND
    owned_settings = SETTINGS

    def parse(self, nas: NasConfig, settings: EnasSettings) -> MicroSpace:
        return MicroSpace.from_nas_config(nas, settings)

    def owns(self, assignments: Mapping[str, str]) -> bool:
        try:
            config = from_katib_json(assignments.get(NN_CONFIG, ""))
        except json.JSONDecodeError:
            return False
        return isinstance(config, dict) and config.get("kind") == KIND

    def describe(self, assignments: Mapping[str, str]) -> list[str]:
        """Both cells node by node, and how they are stacked."""
        try:
            arch = decode_architecture(assignments.get(ARCHITECTURE, ""))
            config = decode_nn_config(assignments.get(NN_CONFIG, ""), MICRO_OPERATION_TYPES)
            check_pair(arch, config)
        except KatibEnasError as error:
            return [f"(cannot decode: {error})"]
        reductions = reduction_positions(config.num_cells)
        lines = [
            f"input {'x'.join(str(s) for s in config.input_sizes)}; stem conv 3x3, "
            f"{config.init_channels * config.stem_multiplier} channels; {config.num_cells} cells"
            + (f" (reduction cells: {', '.join(str(r) for r in reductions)})" if reductions else "")
        ]
        lines += describe_cells(arch, config.embedding)
        lines.append(f"output {'x'.join(str(s) for s in config.output_sizes)} classes")
        return lines

    def shared_scopes(self, assignments: Mapping[str, str]) -> frozenset[str]:
        arch = decode_architecture(assignments.get(ARCHITECTURE, ""))
        config = decode_nn_config(assignments.get(NN_CONFIG, ""), MICRO_OPERATION_TYPES)
        check_pair(arch, config)
        return supernet_scopes(arch, config)
