"""The sections of a checked, defaulted Experiment manifest as the model's frozen dataclasses.

Everything here has passed the shape check, Katib's rules and ours (`loading` runs them first),
so these builders only read; the search space comes from `nas`.
"""

from __future__ import annotations

from typing import Any

from katib_enas.core.katib import Objective, ObjectiveType
from katib_enas.experiment.fields import dig, items
from katib_enas.experiment.model import (
    Algorithm,
    MetricsCollector,
    TrialParameter,
    TrialTemplate,
)


def objective_spec(obj: dict[str, Any]) -> Objective:
    """The objective, with one metric strategy per metric (the defaults filled them in)."""
    metric: str = obj["objectiveMetricName"]
    extra = tuple(items(obj.get("additionalMetricNames")))
    chosen = {s["name"]: s["value"] for s in items(obj.get("metricStrategies"))}
    goal = obj.get("goal")
    return Objective(
        ObjectiveType(obj["type"]),
        metric,
        None if goal is None else float(goal),
        extra,
        tuple((name, chosen[name]) for name in (metric, *extra)),
    )


def algorithm_spec(alg: dict[str, Any]) -> Algorithm:
    settings = items(alg.get("algorithmSettings"))
    return Algorithm(
        alg["algorithmName"], tuple((s.get("name", ""), s.get("value", "")) for s in settings)
    )


def collector_spec(spec: dict[str, Any]) -> MetricsCollector:
    source = spec.get("source")
    path = dig(source, "fileSystemPath") or {}
    return MetricsCollector(
        kind=spec["collector"]["kind"],
        filters=tuple(items(dig(source, "filter", "metricsFormat"))),
        file_path=path.get("path"),
        file_format=path.get("format") or "TEXT",
    )


def trial_template_spec(tmpl: dict[str, Any]) -> TrialTemplate:
    parameters = tuple(
        TrialParameter(p["name"], p["reference"], p.get("description", ""))
        for p in items(tmpl.get("trialParameters"))
    )
    return TrialTemplate(
        primary_container_name=tmpl["primaryContainerName"],
        trial_parameters=parameters,
        trial_spec=tmpl.get("trialSpec"),
        config_map=tmpl.get("configMap"),
        retain=bool(tmpl.get("retain", False)),
    )
