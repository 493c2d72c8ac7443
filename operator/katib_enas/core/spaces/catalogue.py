"""The operation types each kind's trial can build, with the parameters each accepts: the
suggestion side validates `nasConfig` against them and the trial side decodes `nn_config` with
them, so that both agree on what can be built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from katib_enas.core.errors import InvalidSearchSpaceError

ParamValue = str | int | float


@dataclass(frozen=True)
class ParamRule:
    """What one parameter of a known operation type accepts."""

    required: bool
    choices: tuple[str, ...] = ()  # empty: a positive integer
    odd: bool = False  # a window centred on its pixel, so that it keeps the size exactly


OperationCatalogue = Mapping[str, Mapping[str, ParamRule]]

# The operation types a macro trial can build, with their parameters. Parameters not required
# default to 1 in the trial builder (stride, depth_multiplier), as Keras layers do.
OPERATION_TYPES: OperationCatalogue = {
    "convolution": {
        "filter_size": ParamRule(True),
        "num_filter": ParamRule(True),
        "stride": ParamRule(False),
    },
    "separable_convolution": {
        "filter_size": ParamRule(True),
        "num_filter": ParamRule(True),
        "stride": ParamRule(False),
        "depth_multiplier": ParamRule(False),
    },
    "depthwise_convolution": {
        "filter_size": ParamRule(True),
        "stride": ParamRule(False),
        "depth_multiplier": ParamRule(False),
    },
    "reduction": {
        "reduction_type": ParamRule(True, ("max_pooling", "avg_pooling")),
        "pool_size": ParamRule(True),
    },
}

# Inside a cell the channels and the stride come from the cell (a reduction cell halves the
# size and doubles the channels), so micro operations name only their window.
# Every window is odd: the nodes of a cell are summed, so each operation must keep the size.
MICRO_OPERATION_TYPES: OperationCatalogue = {
    "convolution": {"filter_size": ParamRule(True, odd=True)},
    "separable_convolution": {
        "filter_size": ParamRule(True, odd=True),
        "depth_multiplier": ParamRule(False),
    },
    "dilated_convolution": {
        "filter_size": ParamRule(True, odd=True),
        "dilation": ParamRule(False),
    },
    "reduction": {
        "reduction_type": ParamRule(True, ("max_pooling", "avg_pooling")),
        "pool_size": ParamRule(True, odd=True),
    },
    "identity": {},
}


def check_operation(
    op_type: str,
    params: Mapping[str, ParamValue],
    where: str,
    catalogue: OperationCatalogue = OPERATION_TYPES,
) -> None:
    """Raise unless `params` is a complete, valid parameter set for a known `op_type`."""
    rules = catalogue.get(op_type)
    if rules is None:
        known = ", ".join(catalogue)
        raise InvalidSearchSpaceError(
            f"{where}: unknown operation type {op_type!r} (known: {known})"
        )
    for name, value in params.items():
        rule = rules.get(name)
        if rule is None:
            raise InvalidSearchSpaceError(
                f"{where}: unknown parameter {name!r} for {op_type} (known: "
                f"{', '.join(rules) or 'none'})"
            )
        if rule.choices:
            if str(value) not in rule.choices:
                raise InvalidSearchSpaceError(
                    f"{where}.{name}: {value!r} is not one of {', '.join(rule.choices)}"
                )
        else:
            number = positive_int(value)
            if number is None:
                raise InvalidSearchSpaceError(
                    f"{where}.{name}: {value!r} is not a positive integer"
                )
            if rule.odd and number % 2 == 0:
                raise InvalidSearchSpaceError(
                    f"{where}.{name}: {value!r} must be odd (a cell's operations keep the "
                    "size of their input)"
                )
    missing = [name for name, rule in rules.items() if rule.required and name not in params]
    if missing:
        raise InvalidSearchSpaceError(f"{where}: {op_type} needs parameter(s) {', '.join(missing)}")


def positive_int(value: ParamValue) -> int | None:
    """`value` as a positive int (`"3"`, `3` and `3.0` all qualify), or None."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 1:
        return None
    return int(number)
