"""Decoding the JSON inside `architecture` and `nn_config` assignments, for every space kind.

Each kind's `format` module owns its layout; the pieces they share (Katib's quoting, integer
fields, the input/output sizes and the operation `embedding`) are read here, so every kind rejects
malformed values with the same messages naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TypeGuard

from katib_enas.core.errors import InvalidArchitectureError, KatibEnasError
from katib_enas.core.katib import from_katib_json
from katib_enas.core.spaces.catalogue import OperationCatalogue, ParamValue, check_operation
from katib_enas.core.spaces.operations import Operation


def decode_json(text: str, name: str) -> object:
    """An assignment's value as Katib passes it (`'` for `"`, maybe wrapped in `"`)."""
    try:
        return from_katib_json(text)
    except json.JSONDecodeError as error:
        message = f"{name}: not valid JSON ({error.msg} at {error.pos})"
        raise InvalidArchitectureError(message) from None


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (JSON's `true` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(raw: Mapping[str, object], key: str) -> int:
    """`nn_config.<key>`, which must be a positive integer."""
    value = raw.get(key)
    if not is_int(value) or value < 1:
        raise InvalidArchitectureError(f"nn_config.{key}: expected a positive integer")
    return value


def positive_sizes(raw: Mapping[str, object], key: str) -> tuple[int, ...]:
    """`nn_config.<key>`, a non-empty list of positive integers (`input_sizes`, `output_sizes`)."""
    value = raw.get(key)
    if not isinstance(value, list) or not value or not all(is_int(v) and v > 0 for v in value):
        raise InvalidArchitectureError(f"nn_config.{key}: expected a list of positive integers")
    return tuple(value)


def decode_embedding(raw: object, catalogue: OperationCatalogue) -> dict[int, Operation]:
    """`nn_config.embedding`: op id -> {opt_id, opt_type, opt_params}, each a buildable operation
    of `catalogue`."""
    if not isinstance(raw, dict):
        raise InvalidArchitectureError("nn_config.embedding: expected an object")
    embedding: dict[int, Operation] = {}
    for key, entry in raw.items():
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
            check_operation(op_type, params, where, catalogue)
        except KatibEnasError as error:
            raise InvalidArchitectureError(str(error)) from None
        embedding[op_id] = Operation(op_id, op_type, tuple(params.items()))
    return embedding


def check_embedding_covers(op_ids: Iterable[int], embedding: Mapping[int, Operation]) -> None:
    """Raise unless `nn_config.embedding` defines every op id the architecture uses."""
    missing = sorted({op for op in op_ids if op not in embedding})
    if missing:
        raise InvalidArchitectureError(
            f"architecture uses op id(s) {missing} that nn_config.embedding does not define"
        )
