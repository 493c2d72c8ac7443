"""Katib's `nasConfig` and its operations, flattened into numbered operations: shared by every
search-space kind.

Katib's stock `enas` service numbers operations by expanding each `operations[i]` into the
Cartesian product of its parameters' values (last parameter fastest), consecutively in YAML order.
We number them the same way so that op ids agree with Katib's for the same YAML, and we also
handle what the stock code gets wrong: `double` ranges without overshoot, `int` without `step`,
and `discrete` lists. The catalogue of operation types and their parameters lives here too, so
that the suggestion side (validation) and the trial side (building layers) agree on it.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from katib_enas.core.errors import InvalidArchitectureError, InvalidSearchSpaceError
from katib_enas.core.spaces.catalogue import (
    OPERATION_TYPES,
    OperationCatalogue,
    ParamValue,
    check_operation,
    positive_int,
)

# Values travel through JSON strings, `${trialParameters.*}` substitution and `sh -c`; any of
# these characters would break one of those layers (and `'` is the stock format's stand-in for `"`).
_UNSAFE_CHARS = re.compile(r"[\"'\\$`\n\r\t;&|<>(){}\[\]*?!#~ ]")


class ParameterType(enum.Enum):
    """Katib's `parameterType` values (the proto enum numbers)."""

    DOUBLE = 1
    INT = 2
    DISCRETE = 3
    CATEGORICAL = 4

    @classmethod
    def parse(cls, value: str | int) -> ParameterType:
        """Accept the YAML spelling (`categorical`) or the proto enum number (4)."""
        if isinstance(value, int):
            for member in cls:
                if member.value == value:
                    return member
        elif value.upper() in cls.__members__:
            return cls[value.upper()]
        raise InvalidSearchSpaceError(f"unknown parameterType {value!r}")


@dataclass(frozen=True)
class ParameterSpec:
    """One operation parameter as written in `nasConfig.operations[].parameters[]`."""

    name: str
    type: ParameterType
    min: str = ""
    max: str = ""
    step: str = ""
    values: tuple[str, ...] = ()

    def count(self, where: str) -> int:
        """How many values `expand` would give, computed arithmetically, so that a range of
        10^30 values is refused before anything is built; raises as `expand` would for a bad
        spec. Every value is checked except the contents of a categorical list (`expand`)."""
        if self.type in (ParameterType.CATEGORICAL, ParameterType.DISCRETE):
            if not self.values:
                raise InvalidSearchSpaceError(f"{where}.feasibleSpace.list is empty")
            if len(self.values) > MAX_OPERATIONS:  # each value is at least one operation
                raise InvalidSearchSpaceError(
                    f"{where}.feasibleSpace.list has {len(self.values)} values, more than "
                    f"{MAX_OPERATIONS}"
                )
            if self.type is ParameterType.DISCRETE:
                for value in self.values:
                    _decimal(value, f"{where}.feasibleSpace.list")
            return len(self.values)
        low = _decimal(self.min, f"{where}.feasibleSpace.min")
        high = _decimal(self.max, f"{where}.feasibleSpace.max")
        if high < low:
            raise InvalidSearchSpaceError(f"{where}.feasibleSpace: max {self.max} < min {self.min}")
        if self.type is ParameterType.INT:
            step = _decimal(self.step, f"{where}.feasibleSpace.step") if self.step else Decimal(1)
            if low != low.to_integral_value() or high != high.to_integral_value():
                raise InvalidSearchSpaceError(f"{where}.feasibleSpace: int bounds must be integers")
            if step <= 0 or step != step.to_integral_value():
                raise InvalidSearchSpaceError(
                    f"{where}.feasibleSpace.step must be a positive integer"
                )
            # Bounds and step are at most 1e15 (`_decimal`): exact. Only the operations' total
            # caps an int range, as before (`expand_operations`).
            return int((high - low) // step) + 1
        if not self.step:
            raise InvalidSearchSpaceError(f"{where}.feasibleSpace.step is required for double")
        step = _decimal(self.step, f"{where}.feasibleSpace.step")
        if step <= 0:
            raise InvalidSearchSpaceError(f"{where}.feasibleSpace.step must be > 0")
        count = _double_count(low, high, step)
        if count > MAX_VALUES:
            raise InvalidSearchSpaceError(f"{where} expands to more than {MAX_VALUES} values")
        return count

    def expand(self, where: str) -> tuple[ParamValue, ...]:
        """All values of this parameter, in Katib's order; `where` names the field in errors.
        Checks `count` first: nothing is materialised for a range that is too large."""
        count = self.count(where)
        if self.type is ParameterType.CATEGORICAL:
            for value in self.values:
                _check_safe(value, f"{where}.feasibleSpace.list")
            return tuple(self.values)
        if self.type is ParameterType.DISCRETE:
            return tuple(_number(v, f"{where}.feasibleSpace.list") for v in self.values)
        low = _decimal(self.min, f"{where}.feasibleSpace.min")
        high = _decimal(self.max, f"{where}.feasibleSpace.max")
        if self.type is ParameterType.INT:
            every = int(_decimal(self.step, f"{where}.feasibleSpace.step")) if self.step else 1
            return tuple(range(int(low), int(high) + 1, every))
        step = _decimal(self.step, f"{where}.feasibleSpace.step")
        return tuple(float(low + k * step) for k in range(count))


MAX_VALUES = 10_000  # values of one double parameter
MAX_OPERATIONS = 100_000  # operations of a whole `nasConfig`
MAX_PARAMETERS = 32  # parameters of one operation (the catalogue's types have at most 4)
# Numbers in `feasibleSpace` (an operation's filters, window, stride): far above any layer, and
# small enough that every count and conversion below is exact and cheap.
MAX_MAGNITUDE = Decimal(10) ** 15
MAX_NUMBER_CHARS = 64  # the text of one number


@dataclass(frozen=True)
class OperationSpec:
    """One entry of `nasConfig.operations`: a type and the parameters to expand."""

    operation_type: str
    parameters: tuple[ParameterSpec, ...]


@dataclass(frozen=True)
class GraphConfig:
    """`nasConfig.graphConfig`: how many layers, and the network's input and output sizes."""

    num_layers: int
    input_sizes: tuple[int, ...]
    output_sizes: tuple[int, ...]


@dataclass(frozen=True)
class NasConfig:
    """`nasConfig` as the user wrote it, before flattening."""

    graph: GraphConfig
    operations: tuple[OperationSpec, ...]


@dataclass(frozen=True)
class Operation:
    """One concrete operation (an op id): a type with one value per parameter."""

    op_id: int
    op_type: str
    params: tuple[tuple[str, ParamValue], ...]

    @property
    def param_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def to_embedding(self) -> dict[str, object]:
        """The stock `nn_config.embedding` entry for this operation."""
        return {"opt_id": self.op_id, "opt_type": self.op_type, "opt_params": self.param_dict}

    def number(self, name: str, default: int | None, where: str) -> int:
        """Parameter `name` as a positive int, or `default` when absent (None: required); a
        trial builder's reading of a decoded `nn_config.embedding` entry at `where`."""
        params = self.param_dict
        if name not in params:
            if default is None:
                raise InvalidArchitectureError(f"{where}: {self.op_type} needs {name}")
            return default
        value = positive_int(params[name])
        if value is None:
            raise InvalidArchitectureError(
                f"{where}.opt_params.{name}: {params[name]!r} is not a positive integer"
            )
        return value


def check_graph(graph: GraphConfig) -> None:
    """Raise unless `graphConfig` describes a network: layers, input and output sizes."""
    if graph.num_layers < 1:
        raise InvalidSearchSpaceError("nasConfig.graphConfig.numLayers must be >= 1")
    if graph.num_layers > 1000:
        raise InvalidSearchSpaceError("nasConfig.graphConfig.numLayers must be <= 1000")
    if not graph.input_sizes:
        raise InvalidSearchSpaceError("nasConfig.graphConfig.inputSizes is missing")
    if not graph.output_sizes:
        raise InvalidSearchSpaceError("nasConfig.graphConfig.outputSizes is missing")
    for field, sizes in (
        ("inputSizes", graph.input_sizes),
        ("outputSizes", graph.output_sizes),
    ):
        if any(size < 1 for size in sizes):
            raise InvalidSearchSpaceError(f"nasConfig.graphConfig.{field} must be positive")


def expand_operations(
    specs: Sequence[OperationSpec], catalogue: OperationCatalogue = OPERATION_TYPES
) -> tuple[Operation, ...]:
    """Number every operation exactly as Katib's stock service does; validate each one against
    the space kind's `catalogue`."""
    if not specs:
        raise InvalidSearchSpaceError("nasConfig.operations is empty")
    if len(specs) > MAX_OPERATIONS:
        raise InvalidSearchSpaceError(
            f"nasConfig.operations has {len(specs)} entries, more than {MAX_OPERATIONS}"
        )
    operations: list[Operation] = []
    for index, spec in enumerate(specs):
        where = f"nasConfig.operations[{index}]"
        if not spec.operation_type:
            raise InvalidSearchSpaceError(f"{where}.operationType is missing")
        names = [p.name for p in spec.parameters]
        if any(not name for name in names):
            raise InvalidSearchSpaceError(f"{where}.parameters: a parameter has no name")
        if len(set(names)) != len(names):
            raise InvalidSearchSpaceError(f"{where}.parameters: duplicate parameter names")
        if len(spec.parameters) > MAX_PARAMETERS:
            raise InvalidSearchSpaceError(
                f"{where}.parameters: {len(spec.parameters)} parameters, more than {MAX_PARAMETERS}"
            )
        labels = [f"{where}.parameters[{i}] ({p.name})" for i, p in enumerate(spec.parameters)]
        # Counted before anything is built: a request costs what it is, not what it describes.
        combos = math.prod(p.count(label) for p, label in zip(spec.parameters, labels, strict=True))
        if len(operations) + combos > MAX_OPERATIONS:
            raise InvalidSearchSpaceError(
                f"nasConfig.operations expand to more than {MAX_OPERATIONS} operations"
            )
        axes = [p.expand(label) for p, label in zip(spec.parameters, labels, strict=True)]
        for combo in itertools.product(*axes):
            params = tuple(zip(names, combo, strict=True))
            check_operation(spec.operation_type, dict(params), where, catalogue)
            operations.append(Operation(len(operations), spec.operation_type, params))
    return tuple(operations)


def _check_safe(value: str, where: str) -> None:
    if not value or _UNSAFE_CHARS.search(value):
        raise InvalidSearchSpaceError(
            f"{where}: value {value!r} is empty or has a character that is not safe in a trial "
            "command line (quotes, backslash, $, backtick, spaces, shell punctuation)"
        )


def _decimal(text: str, where: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidSearchSpaceError(
            f"{where}: {text[:20]!r}... is {len(text)} characters, more than {MAX_NUMBER_CHARS}"
        )
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidSearchSpaceError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidSearchSpaceError(f"{where}: {text!r} is not a finite number")
    if value.copy_abs() > MAX_MAGNITUDE:  # copy_abs: no context, no Overflow
        raise InvalidSearchSpaceError(f"{where}: {text!r} is out of range (at most 1e15)")
    return value


def _double_count(low: Decimal, high: Decimal, step: Decimal) -> int:
    """Values of a double range, as Katib's stock service counts them; MAX_VALUES + 1 for any
    count above the cap, found without dividing by a step that may be as small as 1e-999999."""
    if high - low > step * MAX_VALUES:
        return MAX_VALUES + 1
    return int((high - low) / step) + 1


def _number(text: str, where: str) -> int | float:
    value = _decimal(text, where)
    return int(value) if value == value.to_integral_value() else float(value)


def parse_sizes(values: Sequence[str | int], where: str) -> tuple[int, ...]:
    """Sizes given as strings or ints (proto and YAML spell them differently)."""
    sizes = []
    for value in values:
        size = positive_int(value)
        if size is None:
            raise InvalidSearchSpaceError(f"{where}: {value!r} is not a positive integer")
        sizes.append(size)
    return tuple(sizes)


def describe_operation(op: Operation) -> str:
    """`convolution 5x5, 32 filters, stride 1` style text for one operation."""
    params = op.param_dict
    size = params.get("filter_size")
    if op.op_type == "reduction":
        kind = str(params.get("reduction_type", "pooling")).replace("_", " ")
        pool = params.get("pool_size")
        return f"{kind} {pool}x{pool}" if pool is not None else kind
    parts = [op.op_type.replace("_", " ") + (f" {size}x{size}" if size is not None else "")]
    if "num_filter" in params:
        parts.append(f"{params['num_filter']} filters")
    if "depth_multiplier" in params:
        parts.append(f"depth multiplier {params['depth_multiplier']}")
    parts.append(f"stride {params.get('stride', 1)}")
    return ", ".join(parts)
