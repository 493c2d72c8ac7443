"""`spec.nasConfig` and `spec.parameters` as the search space the suggestion service receives.

Katib's webhook checks the parameters' types and bounds (`webhook`) but not the nasConfig; a
suggestion service cannot build a space from a nasConfig without layers or operations, or from a
parameter without values. These builders refuse that with the field's path; `strict_rules`
says in the message that Katib itself would have accepted it.
"""

from __future__ import annotations

from typing import Any

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
    parse_sizes,
)
from katib_enas.experiment.fields import InvalidExperimentError, items


def nas_config_spec(nas: dict[str, Any]) -> NasConfig:
    """The (shape-checked) `spec.nasConfig` as the core's `NasConfig`."""
    where = "spec.nasConfig"
    graph_raw = nas.get("graphConfig")
    if graph_raw is None:
        raise InvalidExperimentError(f"{where}.graphConfig: required")
    num_layers = graph_raw.get("numLayers", 0)
    if num_layers < 1:
        raise InvalidExperimentError(
            f"{where}.graphConfig.numLayers: expected an integer >= 1, got {num_layers}"
        )
    sizes = {}
    for key in ("inputSizes", "outputSizes"):
        at = f"{where}.graphConfig.{key}"
        try:
            sizes[key] = parse_sizes(items(graph_raw.get(key)), at)
        except KatibEnasError as error:
            raise InvalidExperimentError(str(error)) from None
    graph = GraphConfig(num_layers, sizes["inputSizes"], sizes["outputSizes"])
    operations = []
    for i, op in enumerate(items(nas.get("operations"))):
        at = f"{where}.operations[{i}]"
        op_type = op.get("operationType")
        if not op_type:
            raise InvalidExperimentError(f"{at}.operationType: required")
        operations.append(OperationSpec(op_type, parameter_specs(op.get("parameters"), at)))
    if not operations:
        raise InvalidExperimentError(f"{where}.operations: needs at least one operation")
    return NasConfig(graph, tuple(operations))


def parameter_specs(raw: object, where: str) -> tuple[ParameterSpec, ...]:
    """The (shape-checked) parameters below `where` as the core's `ParameterSpec`s."""
    specs = []
    for i, item in enumerate(items(raw)):
        at = f"{where}.parameters[{i}]"
        name = item.get("name")
        if not name:
            raise InvalidExperimentError(f"{at}.name: required")
        kind = item.get("parameterType", "")
        try:
            ptype = ParameterType.parse(kind)
        except KatibEnasError:
            raise InvalidExperimentError(
                f"{at}.parameterType: expected double, int, discrete or categorical, got {kind!r}"
            ) from None
        space = item.get("feasibleSpace") or {}
        bounds = {key: space.get(key, "") for key in ("min", "max", "step")}
        values = tuple(items(space.get("list")))
        if ptype in (ParameterType.CATEGORICAL, ParameterType.DISCRETE) and not values:
            raise InvalidExperimentError(
                f"{at}.feasibleSpace.list: a {ptype.name.lower()} parameter needs a non-empty list"
            )
        if ptype in (ParameterType.INT, ParameterType.DOUBLE) and not (
            bounds["min"] and bounds["max"]
        ):
            raise InvalidExperimentError(f"{at}.feasibleSpace: min and max are required")
        specs.append(
            ParameterSpec(name, ptype, bounds["min"], bounds["max"], bounds["step"], values)
        )
    return tuple(specs)
