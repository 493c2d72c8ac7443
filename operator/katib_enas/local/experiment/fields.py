"""Field checks shared by the Experiment loader: each one raises `InvalidExperimentError` with
the field's path, so that every message names what to fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from katib_enas.core.errors import KatibEnasError


class InvalidExperimentError(KatibEnasError):
    """The Experiment YAML is malformed, or a field holds a value Katib would reject."""


# Field names of Katib's OpenAPI schemas (v1beta1): an unknown key is a typo Katib would drop.
KNOWN_KEYS: Mapping[str, frozenset[str]] = {
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


def known(mapping: Mapping[str, Any], schema: str, where: str) -> None:
    unknown = sorted(set(mapping) - KNOWN_KEYS[schema])
    if unknown:
        raise InvalidExperimentError(f"{where}.{unknown[0]}: unknown field")


def mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        got = "nothing" if value is None else type(value).__name__
        raise InvalidExperimentError(f"{where}: expected a mapping, got {got}")
    return value


def listed(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidExperimentError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        got = "nothing" if value is None else repr(value)
        raise InvalidExperimentError(f"{where}: expected a non-empty string, got {got}")
    return value


def count(value: object, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidExperimentError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value
