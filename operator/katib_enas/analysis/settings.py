"""The experiment's settings as the report lists them, read from its manifest's `spec`.

The same reader serves a local run (its `experiment.yaml`) and a cluster (the stored
Experiment, Katib's defaults filled in), so both reports show the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from katib_enas.core.katib import Objective, ObjectiveType
from katib_enas.experiment.containers import find_primary_container


def objective_of(spec: Mapping[str, Any]) -> Objective:
    """`spec.objective` as the core's `Objective` (Katib's default: maximize)."""
    raw = spec.get("objective") or {}
    goal = raw.get("goal")
    return Objective(
        ObjectiveType.MINIMIZE if raw.get("type") == "minimize" else ObjectiveType.MAXIMIZE,
        str(raw.get("objectiveMetricName") or ""),
        float(goal) if isinstance(goal, int | float) else None,
        tuple(str(n) for n in raw.get("additionalMetricNames") or ()),
        tuple(
            (str(s.get("name")), str(s.get("value")))
            for s in raw.get("metricStrategies") or ()
            if isinstance(s, dict)
        ),
    )


def settings_of(spec: Mapping[str, Any], space_summary: str = "") -> dict[str, str]:
    """Label -> value rows: objective, algorithm and its settings, trial counts, the space,
    early stopping, the collector and the trial's image and command."""
    objective = spec.get("objective") or {}
    algorithm = spec.get("algorithm") or {}
    rows: dict[str, str] = {
        "objective": f"{objective.get('type', 'maximize')} {objective.get('objectiveMetricName')}"
        + (f", goal {objective['goal']}" if objective.get("goal") is not None else ""),
        "other metrics": ", ".join(objective.get("additionalMetricNames") or ()) or "-",
        "algorithm": str(algorithm.get("algorithmName", "")),
        "algorithm settings": ", ".join(
            f"{s.get('name')}={s.get('value')}" for s in algorithm.get("algorithmSettings") or ()
        )
        or "defaults",
        "trials": f"max {spec.get('maxTrialCount', '-')}, parallel "
        f"{spec.get('parallelTrialCount', '-')}, max failed {spec.get('maxFailedTrialCount', '-')}",
    }
    if space_summary:
        rows["search space"] = space_summary
    graph = (spec.get("nasConfig") or {}).get("graphConfig") or {}
    if graph:
        rows["graph"] = json.dumps(graph, separators=(", ", ": "))
    early = spec.get("earlyStopping") or {}
    rows["early stopping"] = str(early.get("algorithmName") or "none")
    collector = ((spec.get("metricsCollectorSpec") or {}).get("collector") or {}).get("kind")
    rows["metrics collector"] = str(collector or "StdOut")
    container = _primary_container(spec)
    if container is not None:
        rows["trial image"] = str(container.get("image", ""))
        words = [*(container.get("command") or ()), *(container.get("args") or ())]
        rows["trial command"] = " ".join(str(w) for w in words)
    return rows


def _primary_container(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    template = spec.get("trialTemplate") or {}
    return find_primary_container(template.get("trialSpec"), template.get("primaryContainerName"))
