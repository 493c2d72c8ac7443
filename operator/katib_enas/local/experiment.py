"""A Katib `kubeflow.org/v1beta1` Experiment YAML, loaded and checked into frozen dataclasses.

Local mode runs the very file a user would `kubectl apply`, so this module accepts what Katib's
admission webhook accepts, fills the same defaults (parallelTrialCount 3, metric strategies,
StdOut collector) and rejects bad input with one line that names the field. What Katib accepts
but one machine cannot run (a trial template from a ConfigMap, a collector we do not implement)
loads fine and is reported by `Experiment.local_problems()`, so `validate` can say both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from katib_enas.core.errors import KatibEnasError
from katib_enas.core.search_space import (
    GraphConfig,
    NasConfig,
    OperationSpec,
    ParameterSpec,
    ParameterType,
    SearchSpace,
    parse_sizes,
)

# Our service answers to these names (katib-config registers `enas-torch`, optionally `enas`).
ENAS_ALGORITHMS = frozenset({"enas", "enas-torch"})
COLLECTOR_KINDS = frozenset(
    {"StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None", "Push"}
)
LOCAL_COLLECTOR_KINDS = frozenset({"StdOut", "File", "Push"})
STRATEGIES = frozenset({"min", "max", "latest"})

# Field names of Katib's OpenAPI schemas (v1beta1): an unknown key is a typo Katib would drop.
_KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "spec": frozenset(
        {
            "algorithm",
            "earlyStopping",
            "maxFailedTrialCount",
            "maxTrialCount",
            "metricsCollectorSpec",
            "nasConfig",
            "objective",
            "parallelTrialCount",
            "parameters",
            "resumePolicy",
            "trialTemplate",
        }
    ),
    "objective": frozenset(
        {"additionalMetricNames", "goal", "metricStrategies", "objectiveMetricName", "type"}
    ),
    "algorithm": frozenset({"algorithmName", "algorithmSettings"}),
    "metricsCollectorSpec": frozenset({"collector", "source"}),
    "source": frozenset({"fileSystemPath", "filter", "httpGet"}),
    "collector": frozenset({"customCollector", "kind"}),
    "fileSystemPath": frozenset({"format", "kind", "path"}),
    "filter": frozenset({"metricsFormat"}),
    "trialTemplate": frozenset(
        {
            "configMap",
            "failureCondition",
            "primaryContainerName",
            "primaryPodLabels",
            "retain",
            "successCondition",
            "trialParameters",
            "trialSpec",
        }
    ),
    "trialParameter": frozenset({"description", "name", "reference"}),
    "nasConfig": frozenset({"graphConfig", "operations"}),
    "graphConfig": frozenset({"inputSizes", "numLayers", "outputSizes"}),
    "operation": frozenset({"operationType", "parameters"}),
    "parameter": frozenset({"feasibleSpace", "name", "parameterType"}),
    "feasibleSpace": frozenset({"distribution", "list", "max", "min", "step"}),
    "setting": frozenset({"name", "value"}),
    "metricStrategy": frozenset({"name", "value"}),
}

_PLACEHOLDER = re.compile(r"\$\{trialParameters\.([^}]*)\}")
_METADATA_REFERENCE = re.compile(
    r"^\$\{trialSpec\.(Name|Namespace|Kind|APIVersion|Labels\[[^\]]+\]|Annotations\[[^\]]+\])\}$"
)
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class InvalidExperimentError(KatibEnasError):
    """The Experiment YAML is malformed, or a field holds a value Katib would reject."""


@dataclass(frozen=True)
class Objective:
    """`spec.objective`, with Katib's default metric strategies filled in."""

    type: str  # "maximize" or "minimize"
    metric_name: str
    goal: float | None
    additional_metric_names: tuple[str, ...]
    strategies: Mapping[str, str]  # every metric -> "min" | "max" | "latest"

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Objective first, as Katib's collectors expect it."""
        return (self.metric_name, *self.additional_metric_names)

    @property
    def maximize(self) -> bool:
        return self.type == "maximize"

    def reached(self, value: float) -> bool:
        """Whether an objective value meets the goal (never, when there is no goal)."""
        if self.goal is None:
            return False
        return value >= self.goal if self.maximize else value <= self.goal

    def better(self, value: float, than: float | None) -> bool:
        if than is None:
            return True
        return value > than if self.maximize else value < than


@dataclass(frozen=True)
class Algorithm:
    """`spec.algorithm` or `spec.earlyStopping`: a name and string settings, in YAML order."""

    name: str
    settings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricsCollector:
    """`spec.metricsCollectorSpec`: how a trial's metrics are gathered."""

    kind: str = "StdOut"
    filters: tuple[str, ...] = ()
    file_path: str | None = None
    file_format: str = "TEXT"


@dataclass(frozen=True)
class TrialParameter:
    """One `trialTemplate.trialParameters` entry: `${trialParameters.<name>}` <- reference."""

    name: str
    reference: str
    description: str = ""


@dataclass(frozen=True)
class TrialTemplate:
    """`spec.trialTemplate`; `trial_spec` is the raw manifest that substitution works on."""

    primary_container_name: str
    trial_parameters: tuple[TrialParameter, ...]
    trial_spec: Mapping[str, Any] | None
    config_map: Mapping[str, Any] | None = None
    retain: bool = False

    def primary_container(self) -> Mapping[str, Any] | None:
        """The primary container of a batch Job spec, or None for other kinds."""
        if self.trial_spec is None:
            return None
        containers = _dig(self.trial_spec, "spec", "template", "spec", "containers")
        if not isinstance(containers, list):
            return None
        for container in containers:
            if isinstance(container, dict) and container.get("name") == self.primary_container_name:
                return container
        return None


@dataclass(frozen=True)
class Experiment:
    """A loaded Experiment: what the local runner and the suggestion request need."""

    name: str
    namespace: str
    objective: Objective
    algorithm: Algorithm
    early_stopping: Algorithm | None
    parallel_trial_count: int
    max_trial_count: int | None
    max_failed_trial_count: int | None
    metrics_collector: MetricsCollector
    trial_template: TrialTemplate
    nas_config: NasConfig | None
    parameters: tuple[ParameterSpec, ...]
    resume_policy: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    def local_problems(self, *, remote_suggestion: bool = False) -> list[str]:
        """Why this experiment cannot run on one machine (empty: it can).

        Without a remote suggestion service (`--suggestion-address`) only our ENAS service runs.
        """
        problems = []
        if not remote_suggestion and self.algorithm.name not in ENAS_ALGORITHMS:
            problems.append(
                f"spec.algorithm.algorithmName: the built-in suggestion service runs "
                f"enas-torch (or enas), not {self.algorithm.name!r}; give --suggestion-address "
                "for another service"
            )
        template = self.trial_template
        if template.trial_spec is None:
            problems.append(
                "spec.trialTemplate.configMap: local mode needs the trial spec inline "
                "(spec.trialTemplate.trialSpec)"
            )
        else:
            kind = template.trial_spec.get("kind")
            if kind != "Job":
                problems.append(
                    "spec.trialTemplate.trialSpec.kind: local mode runs batch/v1 Jobs, "
                    f"not {kind!r}"
                )
            elif template.primary_container() is None:
                problems.append(
                    "spec.trialTemplate.primaryContainerName: no container named "
                    f"{template.primary_container_name!r} in "
                    "trialSpec.spec.template.spec.containers"
                )
        if self.metrics_collector.kind not in LOCAL_COLLECTOR_KINDS:
            problems.append(
                f"spec.metricsCollectorSpec.collector.kind: {self.metrics_collector.kind} is not "
                "collected locally (use StdOut, File or Push)"
            )
        if self.nas_config is None and self.algorithm.name in ENAS_ALGORITHMS:
            problems.append("spec.nasConfig: the ENAS algorithm needs a nasConfig")
        return problems

    def search_space(self) -> SearchSpace | None:
        """The flattened ENAS search space, for decoding architectures (None without nasConfig)."""
        if self.nas_config is None or not self.nas_config.graph.input_sizes:
            return None
        return SearchSpace.from_nas_config(self.nas_config)


def load_experiment(path: Path) -> Experiment:
    """Read and check an Experiment YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidExperimentError(f"{path}: cannot read ({error.strerror})") from None
    return parse_experiment(text, source=str(path))


def parse_experiment(text: str, *, source: str = "<experiment>") -> Experiment:
    """Check YAML text holding exactly one Experiment."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidExperimentError(f"{source}: not valid YAML{where}") from None
    if len(documents) != 1:
        raise InvalidExperimentError(
            f"{source}: expected one YAML document (an Experiment), found {len(documents)}"
        )
    return experiment_from_dict(documents[0])


def experiment_from_dict(raw: object) -> Experiment:
    """Check a decoded Experiment manifest and fill Katib's defaults."""
    doc = _mapping(raw, "the document")
    if doc.get("apiVersion") != "kubeflow.org/v1beta1":
        raise InvalidExperimentError(
            f"apiVersion: expected 'kubeflow.org/v1beta1', got {doc.get('apiVersion')!r}"
        )
    if doc.get("kind") != "Experiment":
        raise InvalidExperimentError(f"kind: expected 'Experiment', got {doc.get('kind')!r}")
    metadata = _mapping(doc.get("metadata"), "metadata")
    name = _string(metadata.get("name"), "metadata.name")
    if not _DNS_NAME.match(name) or len(name) > 40:
        raise InvalidExperimentError(
            f"metadata.name: {name!r} must be lowercase letters, digits and '-' (at most 40)"
        )
    namespace = metadata.get("namespace", "default")
    namespace = _string(namespace, "metadata.namespace")
    spec = _mapping(doc.get("spec"), "spec")
    _known(spec, "spec", "spec")

    objective = _objective(spec.get("objective"))
    algorithm = _algorithm(spec.get("algorithm"), "spec.algorithm")
    early = spec.get("earlyStopping")
    early_stopping = None if early is None else _algorithm(early, "spec.earlyStopping")
    parallel = _count(spec.get("parallelTrialCount", 3), "spec.parallelTrialCount", minimum=1)
    max_trials = spec.get("maxTrialCount")
    max_trial_count = None if max_trials is None else _count(max_trials, "spec.maxTrialCount", 1)
    max_failed = spec.get("maxFailedTrialCount")
    max_failed_count = (
        None if max_failed is None else _count(max_failed, "spec.maxFailedTrialCount", 0)
    )
    resume_policy = _string(spec.get("resumePolicy", "Never"), "spec.resumePolicy")
    if resume_policy not in ("Never", "LongRunning", "FromVolume"):
        raise InvalidExperimentError(
            f"spec.resumePolicy: expected Never, LongRunning or FromVolume, got {resume_policy!r}"
        )
    collector = _collector(spec.get("metricsCollectorSpec"))

    nas_config = None if spec.get("nasConfig") is None else _nas_config(spec["nasConfig"])
    parameters = _parameters(spec.get("parameters"), "spec.parameters")
    if nas_config is None and not parameters:
        raise InvalidExperimentError("spec: set either spec.parameters or spec.nasConfig")
    if nas_config is not None and parameters:
        raise InvalidExperimentError("spec: set spec.parameters or spec.nasConfig, not both")
    if algorithm.name in ENAS_ALGORITHMS and nas_config is not None:
        # Numbers every operation now, so a bad space fails here and not inside the service.
        SearchSpace.from_nas_config(nas_config)

    template = _trial_template(spec.get("trialTemplate"))
    _check_references(template, parameters, nas_config is not None, algorithm.name)

    return Experiment(
        name=name,
        namespace=namespace,
        objective=objective,
        algorithm=algorithm,
        early_stopping=early_stopping,
        parallel_trial_count=parallel,
        max_trial_count=max_trial_count,
        max_failed_trial_count=max_failed_count,
        metrics_collector=collector,
        trial_template=template,
        nas_config=nas_config,
        parameters=parameters,
        resume_policy=resume_policy,
        raw=doc,
    )


def _objective(raw: object) -> Objective:
    where = "spec.objective"
    obj = _mapping(raw, where)
    _known(obj, "objective", where)
    kind = _string(obj.get("type"), f"{where}.type")
    if kind not in ("maximize", "minimize"):
        raise InvalidExperimentError(f"{where}.type: expected maximize or minimize, got {kind!r}")
    metric = _string(obj.get("objectiveMetricName"), f"{where}.objectiveMetricName")
    goal_raw = obj.get("goal")
    goal: float | None = None
    if goal_raw is not None:
        if isinstance(goal_raw, bool) or not isinstance(goal_raw, int | float):
            raise InvalidExperimentError(f"{where}.goal: expected a number, got {goal_raw!r}")
        goal = float(goal_raw)
    extra = tuple(
        _string(value, f"{where}.additionalMetricNames[{i}]")
        for i, value in enumerate(_list(obj.get("additionalMetricNames"), where + ".additional"))
    )
    if metric in extra:
        raise InvalidExperimentError(
            f"{where}.additionalMetricNames: must not repeat the objective metric {metric!r}"
        )
    names = (metric, *extra)
    strategies: dict[str, str] = {}
    for i, entry in enumerate(_list(obj.get("metricStrategies"), f"{where}.metricStrategies")):
        at = f"{where}.metricStrategies[{i}]"
        item = _mapping(entry, at)
        _known(item, "metricStrategy", at)
        strategy_name = _string(item.get("name"), f"{at}.name")
        value = _string(item.get("value"), f"{at}.value")
        if strategy_name not in names:
            raise InvalidExperimentError(
                f"{at}.name: {strategy_name!r} is not a metric of the objective"
            )
        if value not in STRATEGIES:
            raise InvalidExperimentError(f"{at}.value: expected min, max or latest, got {value!r}")
        strategies[strategy_name] = value
    # Katib's defaulting webhook: unset metrics follow the objective type.
    default = "max" if kind == "maximize" else "min"
    for name in names:
        strategies.setdefault(name, default)
    return Objective(kind, metric, goal, extra, strategies)


def _algorithm(raw: object, where: str) -> Algorithm:
    alg = _mapping(raw, where)
    _known(alg, "algorithm", where)
    name = _string(alg.get("algorithmName"), f"{where}.algorithmName")
    settings = []
    seen = set()
    for i, entry in enumerate(_list(alg.get("algorithmSettings"), f"{where}.algorithmSettings")):
        at = f"{where}.algorithmSettings[{i}]"
        item = _mapping(entry, at)
        _known(item, "setting", at)
        key = _string(item.get("name"), f"{at}.name")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise InvalidExperimentError(f'{at}.value: must be a string; quote it: "{value}"')
        if key in seen:
            raise InvalidExperimentError(f"{at}.name: setting {key!r} is given twice")
        seen.add(key)
        settings.append((key, value))
    return Algorithm(name, tuple(settings))


def _collector(raw: object) -> MetricsCollector:
    where = "spec.metricsCollectorSpec"
    if raw is None:
        return MetricsCollector()
    spec = _mapping(raw, where)
    _known(spec, "metricsCollectorSpec", where)
    collector = _mapping(spec.get("collector", {"kind": "StdOut"}), f"{where}.collector")
    _known(collector, "collector", f"{where}.collector")
    kind = _string(collector.get("kind", "StdOut"), f"{where}.collector.kind")
    if kind not in COLLECTOR_KINDS:
        raise InvalidExperimentError(
            f"{where}.collector.kind: unknown kind {kind!r} "
            f"(one of {', '.join(sorted(COLLECTOR_KINDS))})"
        )
    source = _mapping(spec.get("source", {}), f"{where}.source")
    _known(source, "source", f"{where}.source")
    filters: list[str] = []
    if source.get("filter") is not None:
        filt = _mapping(source["filter"], f"{where}.source.filter")
        _known(filt, "filter", f"{where}.source.filter")
        formats = _list(filt.get("metricsFormat"), f"{where}.source.filter.metricsFormat")
        for i, pattern in enumerate(formats):
            at = f"{where}.source.filter.metricsFormat[{i}]"
            text = _string(pattern, at)
            try:
                groups = re.compile(text).groups
            except re.error as error:
                raise InvalidExperimentError(
                    f"{at}: not a valid regular expression ({error})"
                ) from None
            # Katib reads group 1 as the name and group 2 as the value; later groups are
            # sub-parts of those (its own File example nests two inside the value).
            if groups < 2:
                raise InvalidExperimentError(
                    f"{at}: needs two groups, the metric name and the value; has {groups}"
                )
            filters.append(text)
    file_path: str | None = None
    file_format = "TEXT"
    if source.get("fileSystemPath") is not None:
        at = f"{where}.source.fileSystemPath"
        fs = _mapping(source["fileSystemPath"], at)
        _known(fs, "fileSystemPath", at)
        file_path = _string(fs.get("path"), f"{at}.path")
        if not file_path.startswith("/"):
            raise InvalidExperimentError(f"{at}.path: must be an absolute path, got {file_path!r}")
        fs_kind = fs.get("kind", "File")
        if fs_kind != "File" and kind == "File":
            raise InvalidExperimentError(f"{at}.kind: the File collector needs kind File")
        file_format = _string(fs.get("format", "TEXT"), f"{at}.format")
        if file_format not in ("TEXT", "JSON"):
            raise InvalidExperimentError(f"{at}.format: expected TEXT or JSON, got {file_format!r}")
        if file_format == "JSON" and filters:
            raise InvalidExperimentError(
                f"{where}.source.filter: metricsFormat filters do not apply to the JSON format"
            )
    if kind == "File" and file_path is None:
        raise InvalidExperimentError(
            f"{where}.source.fileSystemPath: the File collector needs a path"
        )
    return MetricsCollector(kind, tuple(filters), file_path, file_format)


def _nas_config(raw: object) -> NasConfig:
    where = "spec.nasConfig"
    nas = _mapping(raw, where)
    _known(nas, "nasConfig", where)
    graph_raw = _mapping(nas.get("graphConfig"), f"{where}.graphConfig")
    _known(graph_raw, "graphConfig", f"{where}.graphConfig")
    num_layers = _count(graph_raw.get("numLayers"), f"{where}.graphConfig.numLayers", 1)
    sizes = {}
    for key in ("inputSizes", "outputSizes"):
        at = f"{where}.graphConfig.{key}"
        values = _list(graph_raw.get(key), at)
        try:
            sizes[key] = parse_sizes(values, at)
        except KatibEnasError as error:
            raise InvalidExperimentError(str(error)) from None
    graph = GraphConfig(num_layers, sizes["inputSizes"], sizes["outputSizes"])
    operations = []
    for i, entry in enumerate(_list(nas.get("operations"), f"{where}.operations")):
        at = f"{where}.operations[{i}]"
        op = _mapping(entry, at)
        _known(op, "operation", at)
        op_type = _string(op.get("operationType"), f"{at}.operationType")
        operations.append(
            OperationSpec(op_type, _parameters(op.get("parameters"), f"{at}.parameters"))
        )
    if not operations:
        raise InvalidExperimentError(f"{where}.operations: needs at least one operation")
    return NasConfig(graph, tuple(operations))


def _parameters(raw: object, where: str) -> tuple[ParameterSpec, ...]:
    specs = []
    for i, entry in enumerate(_list(raw, where)):
        at = f"{where}[{i}]"
        item = _mapping(entry, at)
        _known(item, "parameter", at)
        name = _string(item.get("name"), f"{at}.name")
        try:
            ptype = ParameterType.parse(_string(item.get("parameterType"), f"{at}.parameterType"))
        except KatibEnasError:
            raise InvalidExperimentError(
                f"{at}.parameterType: expected double, int, discrete or categorical, "
                f"got {item.get('parameterType')!r}"
            ) from None
        space = _mapping(item.get("feasibleSpace"), f"{at}.feasibleSpace")
        _known(space, "feasibleSpace", f"{at}.feasibleSpace")
        bounds = {}
        for key in ("min", "max", "step"):
            value = space.get(key, "")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidExperimentError(f"{at}.feasibleSpace.{key}: expected a number string")
            bounds[key] = str(value)
        values = tuple(str(v) for v in _list(space.get("list"), f"{at}.feasibleSpace.list"))
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


def _trial_template(raw: object) -> TrialTemplate:
    where = "spec.trialTemplate"
    tmpl = _mapping(raw, where)
    _known(tmpl, "trialTemplate", where)
    trial_spec = tmpl.get("trialSpec")
    config_map = tmpl.get("configMap")
    if (trial_spec is None) == (config_map is None):
        raise InvalidExperimentError(f"{where}: set exactly one of trialSpec and configMap")
    if trial_spec is not None:
        _mapping(trial_spec, f"{where}.trialSpec")
    if config_map is not None:
        _mapping(config_map, f"{where}.configMap")
    primary = _string(tmpl.get("primaryContainerName"), f"{where}.primaryContainerName")
    parameters = []
    names = set()
    for i, entry in enumerate(_list(tmpl.get("trialParameters"), f"{where}.trialParameters")):
        at = f"{where}.trialParameters[{i}]"
        item = _mapping(entry, at)
        _known(item, "trialParameter", at)
        name = _string(item.get("name"), f"{at}.name")
        reference = _string(item.get("reference"), f"{at}.reference")
        if name in names:
            raise InvalidExperimentError(f"{at}.name: {name!r} is declared twice")
        names.add(name)
        description = item.get("description", "")
        parameters.append(TrialParameter(name, reference, str(description)))
    retain = tmpl.get("retain", False)
    if not isinstance(retain, bool):
        raise InvalidExperimentError(f"{where}.retain: expected true or false")
    return TrialTemplate(primary, tuple(parameters), trial_spec, config_map, retain)


def _check_references(
    template: TrialTemplate, parameters: Sequence[ParameterSpec], nas: bool, algorithm: str
) -> None:
    """Every placeholder is declared, every declaration is used and refers to something."""
    where = "spec.trialTemplate"
    declared = {p.name for p in template.trial_parameters}
    if template.trial_spec is not None:
        import json

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


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _known(mapping: Mapping[str, Any], schema: str, where: str) -> None:
    unknown = sorted(set(mapping) - _KNOWN_KEYS[schema])
    if unknown:
        raise InvalidExperimentError(f"{where}.{unknown[0]}: unknown field")


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidExperimentError(f"{where}: expected a mapping, got {got}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidExperimentError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        got = "nothing" if value is None else repr(value)
        raise InvalidExperimentError(f"{where}: expected a non-empty string, got {got}")
    return value


def _count(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidExperimentError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value
