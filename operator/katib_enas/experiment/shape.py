"""The shape of a document (field names and JSON types) checked against a registry of types.

Katib meets an Experiment's shape twice. Its webhook decodes the Experiment into Go structs: a
value of the wrong type (`maxTrialCount: "ten"`, an unquoted `min: 0.1`) refuses the
Experiment, an unknown field is dropped without a word. And it converts a batch/v1 Job trial
spec into Go's `batchv1.Job` and back, refusing the template when anything changed on the way:
an unknown field, a wrong type, or an optional value Go leaves out when it writes the Job again
(`null`, `[]`, `{}`). One walker serves both; a `Policy` says how each side words and treats
unknown fields and empty values.

Type expressions: `string`, `integer`, `number`, `boolean`, `int-or-string`, `quantity`, `any`,
`time` (a string; Go writes an unset one as null, so null survives the round trip),
`unstructured` (any mapping with a `kind`, as Katib decodes a trial spec), a type name of the
registry, `{"list": T}` and `{"map": T}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from katib_enas.experiment.fields import InvalidExperimentError, child

TypeExpr = Union[str, Mapping[str, "TypeExpr"]]  # noqa: UP007 (a recursive alias needs Union)


@dataclass(frozen=True)
class ObjectType:
    """An object's fields and their types; `required` fields are never left out."""

    fields: Mapping[str, TypeExpr]
    required: frozenset[str] = frozenset()


Registry = Mapping[str, ObjectType]
UnknownField = Callable[[str, str, Iterable[str]], InvalidExperimentError]


@dataclass(frozen=True)
class Policy:
    """How one side of Katib treats what does not fit.

    `unknown` builds the error for an unknown field (path of the object, the key, the known
    keys); `refusal` ends every type message; `drops_empty` is the Job round trip, where an
    optional `null`, `[]` or `{}` does not survive.
    """

    unknown: UnknownField
    refusal: str
    drops_empty: bool = False


_DESCRIBED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "int-or-string": "an integer or a string",
    "quantity": "a quantity (a string like 500m or 2Gi, or a number)",
    "unstructured": "a mapping",
}


def check(value: object, expr: TypeExpr, types: Registry, where: str, policy: Policy) -> None:
    """Raise `InvalidExperimentError` at the first value that does not fit `expr`."""
    if value is None:
        if policy.drops_empty and expr != "time":
            raise _dropped(where, value, policy)
        return  # decoding null into a Go field leaves it unset
    if isinstance(expr, Mapping):
        _check_container(value, expr, types, where, policy)
    elif expr in types:
        _check_object(value, types[expr], types, where, policy)
    elif not _scalar_fits(value, expr):
        raise _wrong(where, _DESCRIBED.get(expr, expr), value, policy)
    elif expr == "unstructured":
        kind = value.get("kind") if isinstance(value, dict) else None
        if not isinstance(kind, str) or not kind:
            raise InvalidExperimentError(
                f"{child(where, 'kind')}: required (Katib cannot decode a trial spec without "
                "a kind)"
            )


def _check_container(
    value: object, expr: Mapping[str, TypeExpr], types: Registry, where: str, policy: Policy
) -> None:
    if "list" in expr:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value, policy)
        for index, item in enumerate(value):
            check(item, expr["list"], types, child(where, index), policy)
        return
    if not isinstance(value, dict):
        raise _wrong(where, "a mapping", value, policy)
    for key, item in value.items():
        if not isinstance(key, str):
            raise _wrong(child(where, str(key)), "a string key", key, policy)
        check(item, expr["map"], types, child(where, key), policy)


def _check_object(
    value: object, kind: ObjectType, types: Registry, where: str, policy: Policy
) -> None:
    if not isinstance(value, dict):
        raise _wrong(where, "a mapping", value, policy)
    for key, item in value.items():
        if not isinstance(key, str) or key not in kind.fields:
            raise policy.unknown(where, str(key), kind.fields)
        at, expr = child(where, key), kind.fields[key]
        # Go leaves out an empty optional list or map when it writes the Job again.
        empty = item == [] or (item == {} and isinstance(expr, Mapping) and "map" in expr)
        if policy.drops_empty and key not in kind.required and empty:
            raise _dropped(at, item, policy)
        check(item, expr, types, at, policy)


def _dropped(where: str, value: object, policy: Policy) -> InvalidExperimentError:
    return InvalidExperimentError(
        f"{where}: {_shown(value)} does not survive the conversion to Go's Job (it is left out "
        f"or changed); remove the line{policy.refusal}"
    )


def _scalar_fits(value: object, expr: str) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    fits: dict[str, bool] = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": number,
        "boolean": isinstance(value, bool),
        "int-or-string": isinstance(value, str) or (isinstance(value, int) and number),
        "quantity": isinstance(value, str) or number,
        "time": isinstance(value, str),
        "any": True,
        "unstructured": isinstance(value, dict),
    }
    return fits.get(expr, False)


def _wrong(where: str, expected: str, value: object, policy: Policy) -> InvalidExperimentError:
    return InvalidExperimentError(
        f"{where}: expected {expected}, got {_shown(value)}{policy.refusal}"
    )


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "{}" if not value else "a mapping"
    if isinstance(value, list):
        return "[]" if not value else "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type(value).__name__


def strip_nulls(value: Any) -> Any:
    """`value` without null fields: decoding leaves them unset, as if they were absent."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value
