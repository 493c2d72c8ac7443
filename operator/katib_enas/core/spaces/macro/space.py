"""The macro search space (ENAS's first space): one operation per layer plus skip connections.

Katib's stock `enas` space and format: `numLayers` layers, each one operation among all the op
ids the `nasConfig` expands to, and for each earlier layer a skip bit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import from_katib_json
from katib_enas.core.settings_schema import EnasSettings, Rule, Setting
from katib_enas.core.spaces.base import ARCHITECTURE, NN_CONFIG, Space, SpaceKind, rounded
from katib_enas.core.spaces.macro.format import (
    CONCAT,
    HEAD_SCOPE,
    STEM_SCOPE,
    SUM,
    Architecture,
    Layer,
    check_pair,
    decode_architecture,
    decode_nn_config,
    encode_nn_config,
    layer_scope,
)
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    Operation,
    check_graph,
    describe_operation,
    expand_operations,
)
from katib_enas.core.updates import Decision

if TYPE_CHECKING:
    import torch

    from katib_enas.core.policies import PolicyConfig
    from katib_enas.core.spaces.macro.policy import MacroPolicy

# The random baseline's skip probability: the controller's default skip target.
UNIFORM_SKIP_RATE = 0.4
NUM_FILTER = "num_filter"


@dataclass(frozen=True)
class MacroSpace(Space[Architecture]):
    """The flattened macro space: the graph and every operation, indexed by op id."""

    kind = "macro"
    graph: GraphConfig
    operations: tuple[Operation, ...]
    skip_rule: str = CONCAT

    @property
    def num_layers(self) -> int:
        return self.graph.num_layers

    @property
    def num_operations(self) -> int:
        return len(self.operations)

    @classmethod
    def from_nas_config(cls, nas: NasConfig, skip_rule: str = CONCAT) -> MacroSpace:
        """Validate `nas` and number its operations exactly as Katib's stock service does."""
        check_graph(nas.graph)
        return cls(nas.graph, expand_operations(nas.operations), skip_rule)

    def policy(self, config: PolicyConfig, seed: int) -> MacroPolicy:
        from katib_enas.core.spaces.macro.policy import MacroPolicy

        return MacroPolicy(self.num_layers, self.num_operations, config, seed)

    def sample_uniform(self, generator: torch.Generator) -> Architecture:
        import torch

        layers_n = self.num_layers
        ops = torch.randint(self.num_operations, (layers_n,), generator=generator)
        bits = torch.rand(layers_n, layers_n, generator=generator) < UNIFORM_SKIP_RATE
        return Architecture(
            tuple(
                Layer(int(ops[i]), tuple(int(b) for b in bits[i, :i].tolist()))
                for i in range(layers_n)
            )
        )

    @cached_property  # read for every child encoded; the operations can number 100,000
    def stem_width(self) -> int | None:
        """With summed skips, the stem's channels: the widest operation of the space, so that
        every layer after the stem reads one width in a space of one width."""
        if self.skip_rule != SUM:
            return None
        widths = [int(str(op.param_dict[NUM_FILTER])) for op in self.operations
                  if NUM_FILTER in op.param_dict]  # fmt: skip
        return max(widths, default=None) or self.graph.input_sizes[-1]

    def encode(self, architecture: Architecture) -> dict[str, str]:
        return {
            ARCHITECTURE: architecture.encode(),
            NN_CONFIG: encode_nn_config(
                self.graph, self.operations, architecture, self.skip_rule, self.stem_width
            ),
        }

    def decode(self, assignments: Mapping[str, str]) -> Architecture:
        architecture = decode_architecture(assignments.get(ARCHITECTURE, ""))
        architecture.check(self.num_layers, self.num_operations)
        return architecture

    def summary(self) -> str:
        return f"{self.num_layers} layers x {self.num_operations} operations"

    def decisions(self, distributions: Sequence[Any]) -> tuple[Decision, ...]:
        """Per layer: its operation, then (after layer 0) one skip per earlier layer, as
        `MacroPolicy.walk` takes them."""
        names = tuple(describe_operation(op) for op in self.operations)
        steps = iter(distributions)
        named: list[Decision] = []
        for layer in range(self.num_layers):
            named.append(Decision(f"layer {layer}: operation", names, rounded(next(steps))))
            if layer:
                for earlier, pair in enumerate(next(steps)):
                    label = f"layer {layer}: input from layer {earlier}"
                    named.append(Decision(label, ("no", "yes"), rounded(pair)))
        return tuple(named)


AUTO = "auto"
SKIP_RULE = Setting(
    "skip_rule",
    Rule(str, choices=(AUTO, CONCAT, SUM)),
    AUTO,
    """Macro only: how a layer combines the outputs it skips from with the previous layer's
    (ours): `concat` - side by side along channels, as Katib's stock trial does; `sum` - added
    (after pooling to the same size, zero-padded to the previous layer's width), as ENAS's own
    macro child does, so one weight set per (layer, operation) serves every skip pattern;
    `auto` - `sum` with `weight_sharing`, else `concat`. The rule travels in `nn_config`.""",
)


def resolved_skip_rule(settings: EnasSettings) -> str:
    """The `skip_rule` setting with `auto` resolved."""
    if settings.skip_rule != AUTO:
        return settings.skip_rule
    return SUM if settings.weight_sharing else CONCAT


class MacroKind(SpaceKind):
    name = "macro"
    owned_settings = (SKIP_RULE,)

    def parse(self, nas: NasConfig, settings: EnasSettings) -> MacroSpace:
        return MacroSpace.from_nas_config(nas, resolved_skip_rule(settings))

    def owns(self, assignments: Mapping[str, str]) -> bool:
        """Stock `nn_config`s name no kind: those are macro."""
        try:
            config = from_katib_json(assignments.get(NN_CONFIG, ""))
        except json.JSONDecodeError:
            return False
        return isinstance(config, dict) and config.get("kind", self.name) == self.name

    def describe(self, assignments: Mapping[str, str]) -> list[str]:
        """One line per layer: its operation and what it reads."""
        if ARCHITECTURE not in assignments or NN_CONFIG not in assignments:
            return []
        try:
            arch = decode_architecture(assignments[ARCHITECTURE])
            config = decode_nn_config(assignments[NN_CONFIG])
            check_pair(arch, config)
        except KatibEnasError as error:
            return [f"(cannot decode: {error})"]
        lines = [f"input {'x'.join(str(s) for s in config.input_sizes)}"]
        for index, layer in enumerate(arch.layers):
            inputs = ["previous layer" if index else "input"]
            inputs += [f"layer {k}" for k, bit in enumerate(layer.skips) if bit and k != index - 1]
            op = describe_operation(config.embedding[layer.op_id])
            lines.append(f"layer {index}: {op}  <- {', '.join(inputs)}")
        if config.stem_width is not None:
            lines.insert(1, f"stem: convolution 3x3, {config.stem_width} filters")
        if config.skip_rule != CONCAT:
            lines.append(f"skip inputs: {config.skip_rule}")
        lines.append(f"output {'x'.join(str(s) for s in config.output_sizes)} classes")
        return lines

    def shared_scopes(self, assignments: Mapping[str, str]) -> frozenset[str]:
        """One scope per (layer, operation) the child uses, and the head."""
        arch = decode_architecture(assignments.get(ARCHITECTURE, ""))
        config = decode_nn_config(assignments.get(NN_CONFIG, ""))
        check_pair(arch, config)
        stem = [STEM_SCOPE] if config.stem_width is not None else []
        return frozenset(
            [
                HEAD_SCOPE,
                *stem,
                *(layer_scope(i, layer.op_id) for i, layer in enumerate(arch.layers)),
            ]
        )
