"""The one source of truth for the macro space's assignment format (`architecture`, `nn_config`).

The suggestion service encodes with this module and the trial decodes with it. The format is the
stock `enas` one, so users keep their YAMLs: JSON with every `"` replaced by `'`.

- `architecture`: `num_layers` rows; row i is `[op_id, b_0, ..., b_{i-1}]`, bit k = 1 meaning
  layer i also reads the output of layer k.
- `nn_config`: `{num_layers, input_sizes, output_sizes, embedding: {"<op_id>": {opt_id, opt_type,
  opt_params}}}`, the embedding holding the operations this architecture uses.

We write compact JSON (no spaces): values then need no shell quoting and stay small in etcd.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from katib_enas.core.errors import InvalidArchitectureError, KatibEnasError
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.core.spaces.operations import (
    GraphConfig,
    Operation,
    ParamValue,
    check_operation,
)


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


def encode_nn_config(
    graph: GraphConfig, operations: Sequence[Operation], architecture: Architecture
) -> str:
    """The `nn_config` assignment value for `architecture` (the operations it uses)."""
    embedding = {
        str(op_id): operations[op_id].to_embedding() for op_id in sorted(set(architecture.op_ids))
    }
    config = {
        "num_layers": graph.num_layers,
        "input_sizes": list(graph.input_sizes),
        "output_sizes": list(graph.output_sizes),
        "embedding": embedding,
    }
    return to_katib_json(config)


def decode_architecture(text: str) -> Architecture:
    """Parse an `architecture` value as Katib passes it (single quotes, maybe wrapped in `"`)."""
    rows = _decode_json(text, "architecture")
    if not isinstance(rows, list) or not rows:
        raise InvalidArchitectureError("architecture: expected a non-empty list of layer rows")
    _check_rows(rows, len(rows), None)
    return Architecture.from_rows(rows)


def decode_nn_config(text: str) -> NnConfig:
    """Parse and validate an `nn_config` value as Katib passes it."""
    raw = _decode_json(text, "nn_config")
    if not isinstance(raw, dict):
        raise InvalidArchitectureError("nn_config: expected a JSON object")
    for key in ("num_layers", "input_sizes", "output_sizes", "embedding"):
        if key not in raw:
            raise InvalidArchitectureError(f"nn_config: missing key {key!r}")
    num_layers = raw["num_layers"]
    if not _is_int(num_layers) or num_layers < 1:
        raise InvalidArchitectureError("nn_config.num_layers: expected a positive integer")
    sizes = {}
    for key in ("input_sizes", "output_sizes"):
        value = raw[key]
        if not isinstance(value, list) or not value or not all(_is_int(v) and v > 0 for v in value):
            raise InvalidArchitectureError(f"nn_config.{key}: expected a list of positive integers")
        sizes[key] = tuple(value)
    if not isinstance(raw["embedding"], dict):
        raise InvalidArchitectureError("nn_config.embedding: expected an object")
    embedding: dict[int, Operation] = {}
    for key, entry in raw["embedding"].items():
        where = f"nn_config.embedding[{key!r}]"
        try:
            op_id = int(key)
        except ValueError:
            raise InvalidArchitectureError(f"{where}: key is not an op id") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("opt_params"), dict):
            raise InvalidArchitectureError(f"{where}: expected {{opt_id, opt_type, opt_params}}")
        op_type = entry.get("opt_type")
        if not isinstance(op_type, str):
            raise InvalidArchitectureError(f"{where}.opt_type: expected a string")
        params: dict[str, ParamValue] = {}
        for name, value in entry["opt_params"].items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise InvalidArchitectureError(f"{where}.opt_params.{name}: expected a scalar")
            params[name] = value
        try:
            check_operation(op_type, params, where)
        except KatibEnasError as error:
            raise InvalidArchitectureError(str(error)) from None
        embedding[op_id] = Operation(op_id, op_type, tuple(params.items()))
    return NnConfig(num_layers, sizes["input_sizes"], sizes["output_sizes"], embedding)


def check_pair(architecture: Architecture, config: NnConfig) -> None:
    """Raise unless `architecture` and `config` describe the same child."""
    if len(architecture.layers) != config.num_layers:
        raise InvalidArchitectureError(
            f"architecture has {len(architecture.layers)} layers but nn_config.num_layers is "
            f"{config.num_layers}"
        )
    missing = sorted({op for op in architecture.op_ids if op not in config.embedding})
    if missing:
        raise InvalidArchitectureError(
            f"architecture uses op id(s) {missing} that nn_config.embedding does not define"
        )


def _check_rows(rows: Sequence[object], num_layers: int, num_operations: int | None) -> None:
    if len(rows) != num_layers:
        raise InvalidArchitectureError(f"architecture: expected {num_layers} rows, got {len(rows)}")
    for index, row in enumerate(rows):
        where = f"architecture[{index}]"
        if not isinstance(row, list) or len(row) != index + 1:
            raise InvalidArchitectureError(
                f"{where}: expected [op_id] plus {index} skip bit(s), got {row!r}"
            )
        if not all(_is_int(v) for v in row):
            raise InvalidArchitectureError(f"{where}: expected integers, got {row!r}")
        op_id = row[0]
        if op_id < 0 or (num_operations is not None and op_id >= num_operations):
            raise InvalidArchitectureError(f"{where}: op id {op_id} is outside the search space")
        if any(bit not in (0, 1) for bit in row[1:]):
            raise InvalidArchitectureError(f"{where}: skip bits must be 0 or 1, got {row!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_json(text: str, name: str) -> object:
    try:
        return from_katib_json(text)
    except json.JSONDecodeError as error:
        raise InvalidArchitectureError(
            f"{name}: not valid JSON ({error.msg} at {error.pos})"
        ) from None
