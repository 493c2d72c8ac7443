"""The sections of an Experiment spec (objective, algorithm, metrics collector, trial template),
each checked and filled with Katib's defaults; `loading` puts them together."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from katib_enas.core.katib import STRATEGIES, Objective, ObjectiveType
from katib_enas.core.spaces.operations import ParameterSpec
from katib_enas.local.experiment.fields import (
    InvalidExperimentError,
    known,
    listed,
    mapping,
    string,
)
from katib_enas.local.experiment.model import (
    ENAS_ALGORITHMS,
    Algorithm,
    MetricsCollector,
    TrialParameter,
    TrialTemplate,
)

# Every kind Katib's API accepts; which of them run locally is `collectors.LOCAL_KINDS`.
COLLECTOR_KINDS = frozenset(
    {"StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None", "Push"}
)
_PLACEHOLDER = re.compile(r"\$\{trialParameters\.([^}]*)\}")
_METADATA_REFERENCE = re.compile(
    r"^\$\{trialSpec\.(Name|Namespace|Kind|APIVersion|Labels\[[^\]]+\]|Annotations\[[^\]]+\])\}$"
)


def objective_spec(raw: object) -> Objective:
    where = "spec.objective"
    obj = mapping(raw, where)
    known(obj, "objective", where)
    kind = string(obj.get("type"), f"{where}.type")
    if kind not in ("maximize", "minimize"):
        raise InvalidExperimentError(f"{where}.type: expected maximize or minimize, got {kind!r}")
    objective_type = ObjectiveType(kind)
    metric = string(obj.get("objectiveMetricName"), f"{where}.objectiveMetricName")
    goal_raw = obj.get("goal")
    goal: float | None = None
    if goal_raw is not None:
        if isinstance(goal_raw, bool) or not isinstance(goal_raw, int | float):
            raise InvalidExperimentError(f"{where}.goal: expected a number, got {goal_raw!r}")
        goal = float(goal_raw)
    extra = tuple(
        string(value, f"{where}.additionalMetricNames[{i}]")
        for i, value in enumerate(listed(obj.get("additionalMetricNames"), where + ".additional"))
    )
    if metric in extra:
        raise InvalidExperimentError(
            f"{where}.additionalMetricNames: must not repeat the objective metric {metric!r}"
        )
    names = (metric, *extra)
    strategies: dict[str, str] = {}
    for i, entry in enumerate(listed(obj.get("metricStrategies"), f"{where}.metricStrategies")):
        at = f"{where}.metricStrategies[{i}]"
        item = mapping(entry, at)
        known(item, "metricStrategy", at)
        strategy_name = string(item.get("name"), f"{at}.name")
        value = string(item.get("value"), f"{at}.value")
        if strategy_name not in names:
            raise InvalidExperimentError(
                f"{at}.name: {strategy_name!r} is not a metric of the objective"
            )
        if value not in STRATEGIES:
            raise InvalidExperimentError(f"{at}.value: expected min, max or latest, got {value!r}")
        strategies[strategy_name] = value
    # Katib's defaulting webhook: unset metrics follow the objective type.
    default = "max" if objective_type is ObjectiveType.MAXIMIZE else "min"
    filled = tuple((name, strategies.get(name, default)) for name in names)
    return Objective(objective_type, metric, goal, extra, filled)


def algorithm_spec(raw: object, where: str) -> Algorithm:
    alg = mapping(raw, where)
    known(alg, "algorithm", where)
    name = string(alg.get("algorithmName"), f"{where}.algorithmName")
    settings = []
    seen = set()
    for i, entry in enumerate(listed(alg.get("algorithmSettings"), f"{where}.algorithmSettings")):
        at = f"{where}.algorithmSettings[{i}]"
        item = mapping(entry, at)
        known(item, "setting", at)
        key = string(item.get("name"), f"{at}.name")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise InvalidExperimentError(f'{at}.value: must be a string; quote it: "{value}"')
        if key in seen:
            raise InvalidExperimentError(f"{at}.name: setting {key!r} is given twice")
        seen.add(key)
        settings.append((key, value))
    return Algorithm(name, tuple(settings))


def collector_spec(raw: object) -> MetricsCollector:
    where = "spec.metricsCollectorSpec"
    if raw is None:
        return MetricsCollector()
    spec = mapping(raw, where)
    known(spec, "metricsCollectorSpec", where)
    collector = mapping(spec.get("collector", {"kind": "StdOut"}), f"{where}.collector")
    known(collector, "collector", f"{where}.collector")
    kind = string(collector.get("kind", "StdOut"), f"{where}.collector.kind")
    if kind not in COLLECTOR_KINDS:
        raise InvalidExperimentError(
            f"{where}.collector.kind: unknown kind {kind!r} "
            f"(one of {', '.join(sorted(COLLECTOR_KINDS))})"
        )
    source = mapping(spec.get("source", {}), f"{where}.source")
    known(source, "source", f"{where}.source")
    filters = _filters(source.get("filter"), f"{where}.source.filter")
    file_path: str | None = None
    file_format = "TEXT"
    if source.get("fileSystemPath") is not None:
        file_path, file_format = _file_system_path(
            source["fileSystemPath"], kind, f"{where}.source.fileSystemPath"
        )
        if file_format == "JSON" and filters:
            raise InvalidExperimentError(
                f"{where}.source.filter: metricsFormat filters do not apply to the JSON format"
            )
    if kind == "File" and file_path is None:
        raise InvalidExperimentError(
            f"{where}.source.fileSystemPath: the File collector needs a path"
        )
    return MetricsCollector(kind, filters, file_path, file_format)


def _filters(raw: object, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    filt = mapping(raw, where)
    known(filt, "filter", where)
    filters = []
    for i, pattern in enumerate(listed(filt.get("metricsFormat"), f"{where}.metricsFormat")):
        at = f"{where}.metricsFormat[{i}]"
        text = string(pattern, at)
        try:
            groups = re.compile(text).groups
        except re.error as error:
            raise InvalidExperimentError(
                f"{at}: not a valid regular expression ({error})"
            ) from None
        # Katib reads group 1 as the name and group 2 as the value; later groups are sub-parts
        # of those (its own File example nests two inside the value).
        if groups < 2:
            raise InvalidExperimentError(
                f"{at}: needs two groups, the metric name and the value; has {groups}"
            )
        filters.append(text)
    return tuple(filters)


def _file_system_path(raw: object, kind: str, at: str) -> tuple[str, str]:
    fs = mapping(raw, at)
    known(fs, "fileSystemPath", at)
    file_path = string(fs.get("path"), f"{at}.path")
    if not file_path.startswith("/"):
        raise InvalidExperimentError(f"{at}.path: must be an absolute path, got {file_path!r}")
    fs_kind = fs.get("kind", "File")
    if fs_kind != "File" and kind == "File":
        raise InvalidExperimentError(f"{at}.kind: the File collector needs kind File")
    file_format = string(fs.get("format", "TEXT"), f"{at}.format")
    if file_format not in ("TEXT", "JSON"):
        raise InvalidExperimentError(f"{at}.format: expected TEXT or JSON, got {file_format!r}")
    return file_path, file_format


def trial_template_spec(raw: object) -> TrialTemplate:
    where = "spec.trialTemplate"
    tmpl = mapping(raw, where)
    known(tmpl, "trialTemplate", where)
    trial_spec = tmpl.get("trialSpec")
    config_map = tmpl.get("configMap")
    if (trial_spec is None) == (config_map is None):
        raise InvalidExperimentError(f"{where}: set exactly one of trialSpec and configMap")
    if trial_spec is not None:
        mapping(trial_spec, f"{where}.trialSpec")
    if config_map is not None:
        mapping(config_map, f"{where}.configMap")
    primary = string(tmpl.get("primaryContainerName"), f"{where}.primaryContainerName")
    parameters = []
    names = set()
    for i, entry in enumerate(listed(tmpl.get("trialParameters"), f"{where}.trialParameters")):
        at = f"{where}.trialParameters[{i}]"
        item = mapping(entry, at)
        known(item, "trialParameter", at)
        name = string(item.get("name"), f"{at}.name")
        reference = string(item.get("reference"), f"{at}.reference")
        if name in names:
            raise InvalidExperimentError(f"{at}.name: {name!r} is declared twice")
        names.add(name)
        description = item.get("description", "")
        parameters.append(TrialParameter(name, reference, str(description)))
    retain = tmpl.get("retain", False)
    if not isinstance(retain, bool):
        raise InvalidExperimentError(f"{where}.retain: expected true or false")
    return TrialTemplate(primary, tuple(parameters), trial_spec, config_map, retain)


def check_references(
    template: TrialTemplate, parameters: Sequence[ParameterSpec], nas: bool, algorithm: str
) -> None:
    """Every placeholder is declared, every declaration is used and refers to something."""
    where = "spec.trialTemplate"
    declared = {p.name for p in template.trial_parameters}
    if template.trial_spec is not None:
        used = set(_PLACEHOLDER.findall(json.dumps(template.trial_spec)))
        undeclared = sorted(used - declared)
        if undeclared:
            raise InvalidExperimentError(
                f"{where}.trialSpec: ${{trialParameters.{undeclared[0]}}} is not declared in "
                f"{where}.trialParameters"
            )
        unused = sorted(declared - used)
        if unused:
            raise InvalidExperimentError(
                f"{where}.trialParameters: {unused[0]!r} is never used as "
                f"${{trialParameters.{unused[0]}}} in {where}.trialSpec"
            )
    # With parameters (hyperparameter search) or ENAS, we know what the service assigns; other
    # NAS algorithms (darts) return their own assignment names.
    if nas and algorithm not in ENAS_ALGORITHMS:
        return
    known = {p.name for p in parameters} if not nas else {"architecture", "nn_config"}
    for i, param in enumerate(template.trial_parameters):
        ref = param.reference
        if ref in known or _METADATA_REFERENCE.match(ref):
            continue
        raise InvalidExperimentError(
            f"{where}.trialParameters[{i}].reference: {ref!r} is neither an assignment "
            f"({', '.join(sorted(known))}) nor trial metadata like ${{trialSpec.Name}}"
        )
