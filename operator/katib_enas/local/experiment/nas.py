"""`spec.nasConfig` and `spec.parameters`: the search space as the YAML writes it."""

from __future__ import annotations

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.spaces.operations import (
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
    parse_sizes,
)
from katib_enas.local.experiment.fields import (
    InvalidExperimentError,
    count,
    known,
    listed,
    mapping,
    string,
)


def nas_config_spec(raw: object) -> NasConfig:
    where = "spec.nasConfig"
    nas = mapping(raw, where)
    known(nas, "nasConfig", where)
    graph_raw = mapping(nas.get("graphConfig"), f"{where}.graphConfig")
    known(graph_raw, "graphConfig", f"{where}.graphConfig")
    num_layers = count(graph_raw.get("numLayers"), f"{where}.graphConfig.numLayers", 1)
    sizes = {}
    for key in ("inputSizes", "outputSizes"):
        at = f"{where}.graphConfig.{key}"
        values = listed(graph_raw.get(key), at)
        try:
            sizes[key] = parse_sizes(values, at)
        except KatibEnasError as error:
            raise InvalidExperimentError(str(error)) from None
    graph = GraphConfig(num_layers, sizes["inputSizes"], sizes["outputSizes"])
    operations = []
    for i, entry in enumerate(listed(nas.get("operations"), f"{where}.operations")):
        at = f"{where}.operations[{i}]"
        op = mapping(entry, at)
        known(op, "operation", at)
        op_type = string(op.get("operationType"), f"{at}.operationType")
        operations.append(
            OperationSpec(op_type, parameter_specs(op.get("parameters"), f"{at}.parameters"))
        )
    if not operations:
        raise InvalidExperimentError(f"{where}.operations: needs at least one operation")
    return NasConfig(graph, tuple(operations))


def parameter_specs(raw: object, where: str) -> tuple[ParameterSpec, ...]:
    specs = []
    for i, entry in enumerate(listed(raw, where)):
        at = f"{where}[{i}]"
        item = mapping(entry, at)
        known(item, "parameter", at)
        name = string(item.get("name"), f"{at}.name")
        try:
            ptype = ParameterType.parse(string(item.get("parameterType"), f"{at}.parameterType"))
        except KatibEnasError:
            raise InvalidExperimentError(
                f"{at}.parameterType: expected double, int, discrete or categorical, "
                f"got {item.get('parameterType')!r}"
            ) from None
        space = mapping(item.get("feasibleSpace"), f"{at}.feasibleSpace")
        known(space, "feasibleSpace", f"{at}.feasibleSpace")
        bounds = {}
        for key in ("min", "max", "step"):
            value = space.get(key, "")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidExperimentError(f"{at}.feasibleSpace.{key}: expected a number string")
            bounds[key] = str(value)
        values = tuple(str(v) for v in listed(space.get("list"), f"{at}.feasibleSpace.list"))
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
