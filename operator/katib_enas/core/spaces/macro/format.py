"""The one source of truth for the macro space's assignment format (`architecture`, `nn_config`).

The suggestion service encodes with this module and the trial decodes with it. The format is the
stock `enas` one, so users keep their YAMLs: JSON with every `"` replaced by `'`.

- `architecture`: `num_layers` rows; row i is `[op_id, b_0, ..., b_{i-1}]`, bit k = 1 meaning
  layer i also reads the output of layer k.
- `nn_config`: `{num_layers, input_sizes, output_sizes, embedding: {"<op_id>": {opt_id, opt_type,
  opt_params}}}`, the embedding holding the operations this architecture uses, plus
  `skip_rule: 'sum'` when skip inputs are summed (ENAS's own macro child, used for weight
  sharing) with `stem_width`, the channels of the 3x3 stem convolution that ENAS's child puts
  before its layers; without the keys they are concatenated and there is no stem, as in
  Katib's stock trial.

We write compact JSON (no spaces): values then need no shell quoting and stay small in etcd.
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
from katib_enas.core.spaces.catalogue import OPERATION_TYPES
from katib_enas.core.spaces.operations import GraphConfig, Operation


@dataclass(frozen=True)
class Layer:
    """One layer of a macro child: its op id and one skip bit per earlier layer."""

    op_id: int
    skips: tuple[int, ...]


@dataclass(frozen=True)
class Architecture:
    """A macro child network as the controller samples it."""

    layers: tuple[Layer, ...]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]]) -> Architecture:
        return cls(tuple(Layer(int(row[0]), tuple(int(b) for b in row[1:])) for row in rows))

    def to_rows(self) -> list[list[int]]:
        return [[layer.op_id, *layer.skips] for layer in self.layers]

    @property
    def op_ids(self) -> tuple[int, ...]:
        return tuple(layer.op_id for layer in self.layers)

    def encode(self) -> str:
        """The `architecture` assignment value."""
        return to_katib_json(self.to_rows())

    def check(self, num_layers: int, num_operations: int) -> None:
        """Raise unless this architecture fits a space (row lengths, op ids, bits)."""
        _check_rows(self.to_rows(), num_layers, num_operations)


@dataclass(frozen=True)
class NnConfig:
    """A decoded `nn_config`: the graph sizes and the operations this child uses."""

    num_layers: int
    input_sizes: tuple[int, ...]
    output_sizes: tuple[int, ...]
    embedding: Mapping[int, Operation]
    skip_rule: str = "concat"
    stem_width: int | None = None


# How a layer combines its inputs (`nn_config.skip_rule`). `concat`: the previous layer's output
# and every skipped-from output side by side along channels (Katib's stock trial; a layer's width
# then depends on the whole skip pattern). `sum`: the skipped-from outputs are added to the
# previous layer's output (ENAS's macro child), so a layer's operation always reads the previous
# layer's width and one weight set per (layer, operation) serves every skip pattern.
CONCAT = "concat"
SUM = "sum"
SKIP_RULES = (CONCAT, SUM)


def encode_nn_config(
    graph: GraphConfig,
    operations: Sequence[Operation],
    architecture: Architecture,
    skip_rule: str = CONCAT,
    stem_width: int | None = None,
) -> str:
    """The `nn_config` assignment value for `architecture` (the operations it uses). The stock
    rule is left implicit, so stock Experiments get the stock value byte for byte."""
    embedding = {
        str(op_id): operations[op_id].to_embedding() for op_id in sorted(set(architecture.op_ids))
    }
    config: dict[str, object] = {
        "num_layers": graph.num_layers,
        "input_sizes": list(graph.input_sizes),
        "output_sizes": list(graph.output_sizes),
        "embedding": embedding,
    }
    if skip_rule != CONCAT:
        config["skip_rule"] = skip_rule
    if stem_width is not None:
        config["stem_width"] = stem_width
    return to_katib_json(config)


def decode_architecture(text: str) -> Architecture:
    """Parse an `architecture` value as Katib passes it (single quotes, maybe wrapped in `"`)."""
    rows = decode_json(text, "architecture")
    if not isinstance(rows, list) or not rows:
        raise InvalidArchitectureError("architecture: expected a non-empty list of layer rows")
    _check_rows(rows, len(rows), None)
    return Architecture.from_rows(rows)


def decode_nn_config(text: str) -> NnConfig:
    """Parse and validate an `nn_config` value as Katib passes it."""
    raw = decode_json(text, "nn_config")
    if not isinstance(raw, dict):
        raise InvalidArchitectureError("nn_config: expected a JSON object")
    for key in ("num_layers", "input_sizes", "output_sizes", "embedding"):
        if key not in raw:
            raise InvalidArchitectureError(f"nn_config: missing key {key!r}")
    num_layers = positive_int(raw, "num_layers")
    embedding = decode_embedding(raw["embedding"], OPERATION_TYPES)
    skip_rule = raw.get("skip_rule", CONCAT)
    if skip_rule not in SKIP_RULES:
        raise InvalidArchitectureError(
            f"nn_config.skip_rule: expected one of {', '.join(SKIP_RULES)}, got {skip_rule!r}"
        )
    stem_width = None
    if "stem_width" in raw:
        stem_width = positive_int(raw, "stem_width")
    return NnConfig(
        num_layers,
        positive_sizes(raw, "input_sizes"),
        positive_sizes(raw, "output_sizes"),
        embedding,
        str(skip_rule),
        stem_width,
    )


def check_pair(architecture: Architecture, config: NnConfig) -> None:
    """Raise unless `architecture` and `config` describe the same child."""
    if len(architecture.layers) != config.num_layers:
        raise InvalidArchitectureError(
            f"architecture has {len(architecture.layers)} layers but nn_config.num_layers is "
            f"{config.num_layers}"
        )
    check_embedding_covers(architecture.op_ids, config.embedding)


def _check_rows(rows: Sequence[object], num_layers: int, num_operations: int | None) -> None:
    if len(rows) != num_layers:
        raise InvalidArchitectureError(f"architecture: expected {num_layers} rows, got {len(rows)}")
    for index, row in enumerate(rows):
        where = f"architecture[{index}]"
        if not isinstance(row, list) or len(row) != index + 1:
            raise InvalidArchitectureError(
                f"{where}: expected [op_id] plus {index} skip bit(s), got {row!r}"
            )
        if not all(is_int(v) for v in row):
            raise InvalidArchitectureError(f"{where}: expected integers, got {row!r}")
        op_id = row[0]
        if op_id < 0 or (num_operations is not None and op_id >= num_operations):
            raise InvalidArchitectureError(f"{where}: op id {op_id} is outside the search space")
        if any(bit not in (0, 1) for bit in row[1:]):
            raise InvalidArchitectureError(f"{where}: skip bits must be 0 or 1, got {row!r}")


# Weight sharing: where a macro child's tensors live in the supernet (see `SpaceKind`).
HEAD_SCOPE = "macro/head/"
STEM_SCOPE = "macro/stem/"


def layer_scope(layer: int, op_id: int) -> str:
    """The tensors of operation `op_id` at `layer`, whatever the layer reads."""
    return f"macro/layer{layer}/op{op_id}/"
