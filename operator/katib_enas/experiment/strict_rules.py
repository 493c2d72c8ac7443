"""Where this project is deliberately stricter than Katib's webhook, and why.

Each rule refuses something Katib admits but that cannot work, and its message says so
("Katib accepts this, but ..."), so the user knows which tool said no. They run after Katib's
own rules (`webhook`), on the defaulted manifest. Unknown fields, which Katib drops without a
word, are refused earlier, by the shape check (`types`).
"""

from __future__ import annotations

import re
from typing import Any

from enas_trial.reporting import (
    PARAMETER_COUNT,
    TEST_ACCURACY,
    TRAINING_ACCURACY,
    TRAINING_LOSS,
    VALIDATION_ACCURACY,
    VALIDATION_LOSS,
)
from katib_enas.core.katib import STRATEGIES
from katib_enas.experiment import collector_rules, nas
from katib_enas.experiment.fields import (
    InvalidExperimentError,
    did_you_mean,
    dig,
    items,
    stricter,
)
from katib_enas.experiment.model import ENAS_ALGORITHMS
from katib_enas.experiment.template_rules import is_meta_reference

NAS_ASSIGNMENTS = ("architecture", "nn_config")
# The suggestion services Katib v0.19 ships (katib-config's defaults).
KATIB_ALGORITHMS = (
    *("random", "grid", "hyperband", "bayesianoptimization", "tpe", "multivariate-tpe"),
    *("cmaes", "sobol", "darts", "pbt"),
)
# The commands that run our trial, and the metrics it prints (enas_trial.reporting).
TRIAL_COMMANDS = ("enas-trial", "RunTrial.py")
TRIAL_METRICS = (
    *(TRAINING_ACCURACY, TRAINING_LOSS, VALIDATION_ACCURACY, VALIDATION_LOSS, TEST_ACCURACY),
    PARAMETER_COUNT,
)
METRICS_KINDS = ("StdOut", "File", "Push")  # those that read what enas-trial reports
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def check(doc: dict[str, Any]) -> None:
    """Raise at the first of our own rules the (Katib-valid, defaulted) manifest breaks."""
    spec: dict[str, Any] = doc["spec"]
    name = doc["metadata"]["name"]
    if not _DNS_LABEL.fullmatch(name):
        raise stricter(
            "metadata.name",
            f"{name!r} is not a DNS label",
            "the suggestion's Service, named after the Experiment, cannot be created",
        )
    _algorithm_name(dig(spec, "algorithm", "algorithmName"))
    for where in ("spec.algorithm", "spec.earlyStopping"):
        _settings(dig(spec, where.split(".")[1]), where)
    _primary_container(spec)
    _trial_metrics(spec)
    _metric_strategies(spec["objective"])
    _filters(spec["metricsCollectorSpec"])
    _search_space(spec)
    _nas_references(spec)


def _settings(algorithm: dict[str, Any] | None, where: str) -> None:
    seen: set[str] = set()
    for index, setting in enumerate(items(dig(algorithm, "algorithmSettings"))):
        key = setting.get("name", "")
        if key in seen:
            raise stricter(
                f"{where}.algorithmSettings[{index}].name",
                f"setting {key!r} is given twice",
                "which value the suggestion service uses is up to the service",
            )
        seen.add(key)


def _metric_strategies(objective: dict[str, Any]) -> None:
    metrics = [objective["objectiveMetricName"], *items(objective.get("additionalMetricNames"))]
    for index, strategy in enumerate(items(objective.get("metricStrategies"))):
        at = f"spec.objective.metricStrategies[{index}]"
        if strategy.get("name") not in metrics:
            raise stricter(
                f"{at}.name",
                f"{strategy.get('name')!r} is not a metric of the objective ({', '.join(metrics)})",
                "ignores it",
            )
        if strategy.get("value") not in STRATEGIES:
            raise stricter(
                f"{at}.value",
                f"expected min, max or latest, got {strategy.get('value')!r}",
                "then sends this metric to the suggestion service with no value",
            )


def _filters(collector_spec: dict[str, Any]) -> None:
    """Filters Katib does not check (StdOut) or checks only as text (two pairs of brackets)."""
    kind = dig(collector_spec, "collector", "kind")
    if kind == "Push":
        return
    patterns = items(dig(collector_spec, "source", "filter", "metricsFormat"))
    for index, pattern in enumerate(patterns):
        at = f"spec.metricsCollectorSpec.source.filter.metricsFormat[{index}]"
        consequence = "its metrics collector finds no metrics with it"
        if kind == "StdOut":
            try:
                collector_rules.check_filter(pattern, at)
            except InvalidExperimentError as error:
                raise InvalidExperimentError(
                    f"{error} (Katib accepts this for StdOut, but {consequence})"
                ) from None
        groups = re.compile(pattern).groups
        # Group 1 is the name and group 2 the value; further groups are parts of those.
        if groups < 2:
            raise stricter(
                at, f"has {groups} capturing group(s), needs two (name and value)", consequence
            )


def _search_space(spec: dict[str, Any]) -> None:
    consequence = "no suggestion service can build a search space from it"
    try:
        if spec.get("nasConfig") is not None:
            nas.nas_config_spec(spec["nasConfig"])
        nas.parameter_specs(spec.get("parameters"), "spec")
    except InvalidExperimentError as error:
        raise InvalidExperimentError(f"{error} (Katib accepts this, but {consequence})") from None


def _nas_references(spec: dict[str, Any]) -> None:
    """ENAS assigns `architecture` and `nn_config`; Katib checks references only without NAS."""
    algorithm = dig(spec, "algorithm", "algorithmName")
    if spec.get("nasConfig") is None or algorithm not in ENAS_ALGORITHMS:
        return
    for index, parameter in enumerate(items(dig(spec, "trialTemplate", "trialParameters"))):
        reference = parameter["reference"]
        if reference in NAS_ASSIGNMENTS or is_meta_reference(reference):
            continue
        raise stricter(
            f"spec.trialTemplate.trialParameters[{index}].reference",
            f"{reference!r} is neither an ENAS assignment ({', '.join(NAS_ASSIGNMENTS)}) nor "
            "trial metadata like ${trialSpec.Name}",
            "then fails to create any trial: the suggestion service assigns no such value",
        )


def _algorithm_name(name: object) -> None:
    """A name no katib-config can serve: not a DNS label, or a near miss of a known one."""
    if not isinstance(name, str):
        return
    known = (*sorted(ENAS_ALGORITHMS), *KATIB_ALGORITHMS)
    where = "spec.algorithm.algorithmName"
    if not _DNS_LABEL.fullmatch(name):
        raise stricter(
            where,
            f"{name!r} is not a DNS label{did_you_mean(name, known)}",
            f"the suggestion's Service `<experiment>-{name}` cannot be created",
        )
    hint = did_you_mean(name, known)
    if name not in known and hint:
        raise stricter(
            where,
            f"{name!r} is no algorithm Katib or this project ships{hint}",
            "finds it only if you registered a suggestion of that name in katib-config",
        )


def _primary_container(spec: dict[str, Any]) -> None:
    """`primaryContainerName` must name a container of the trial's pod."""
    template = spec.get("trialTemplate") or {}
    wanted = template.get("primaryContainerName")
    names = [str(c["name"]) for c in containers(template.get("trialSpec")) if c.get("name")]
    if not names or wanted in names:
        return  # a ConfigMap template, or one we cannot see into
    raise stricter(
        "spec.trialTemplate.primaryContainerName",
        f"{wanted!r} names no container of the trial (containers: {', '.join(names)})"
        f"{did_you_mean(str(wanted), names)}",
        "collects no metrics from it: every trial ends without an objective value",
    )


def _trial_metrics(spec: dict[str, Any]) -> None:
    """With an `enas-trial` command, the metric names it prints are known: catch a typo."""
    if dig(spec, "metricsCollectorSpec", "collector", "kind") not in (None, *METRICS_KINDS):
        return
    template = spec.get("trialTemplate") or {}
    wanted = template.get("primaryContainerName")
    primary = next(
        (c for c in containers(template.get("trialSpec")) if c.get("name") == wanted), None
    )
    words = [*items(dig(primary, "command")), *items(dig(primary, "args"))]
    if not any(str(w).split("/")[-1] in TRIAL_COMMANDS for w in words[:3]):
        return
    objective = spec["objective"]
    named = [("objectiveMetricName", objective["objectiveMetricName"])] + [
        (f"additionalMetricNames[{i}]", n)
        for i, n in enumerate(items(objective.get("additionalMetricNames")))
    ]
    for field, name in named:
        if name not in TRIAL_METRICS:
            raise stricter(
                f"spec.objective.{field}",
                f"{name!r} is not a metric enas-trial prints ({', '.join(TRIAL_METRICS)})"
                f"{did_you_mean(str(name), TRIAL_METRICS)}",
                "its metrics collector never finds it: every trial ends MetricsUnavailable",
            )


def containers(value: object) -> list[dict[str, Any]]:
    """Every container of a trial spec, wherever its kind nests pods (Job, TFJob, ...)."""
    if isinstance(value, list):
        return [c for v in value for c in containers(v)]
    if not isinstance(value, dict):
        return []
    found = [c for c in items(value.get("containers")) if isinstance(c, dict)]
    return found + [c for k, v in value.items() if k != "containers" for c in containers(v)]
