"""Katib's validating webhook for a new Experiment (`ValidateExperiment`, v0.19), in its order.

It runs on the defaulted manifest (`defaults`) after the shape check (`shape`, `types`) and
raises at the first refusal: the name, the trial counts, the objective, the algorithm and early
stopping, the resume policy, the trial template (`template_rules`), the search space and its
parameters, the metrics collector (`collector_rules`). What the webhook asks the cluster
(katib-config entries, the namespace label, an existing Experiment) is in `cluster_checks`.
Before the webhook, the API server checks the name; that comes first here too.
"""

from __future__ import annotations

import re
from typing import Any

from katib_enas.experiment import collector_rules, template_rules
from katib_enas.experiment.fields import InvalidExperimentError, items

RESUME_POLICIES = ("Never", "LongRunning", "FromVolume")
PARAMETER_TYPES = ("double", "int", "discrete", "categorical", "unknown")
DISTRIBUTIONS = ("uniform", "logUniform", "normal", "logNormal", "unknown")
MAX_NAME = 40
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KATIB_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # matched at the start only, as Katib


def validate(doc: dict[str, Any], *, parallel_given: bool = True) -> None:
    """Raise `InvalidExperimentError` at the first refusal of the API server or the webhook.

    `parallel_given`: whether the user set parallelTrialCount (else the message says that the
    refused value is Katib's default).
    """
    _name(doc.get("metadata") or {})
    spec: dict[str, Any] = doc["spec"]
    _counts(spec, parallel_given)
    _objective(spec.get("objective"))
    _algorithm(spec.get("algorithm"), "spec.algorithm", required=True)
    _algorithm(spec.get("earlyStopping"), "spec.earlyStopping", required=False)
    if spec.get("resumePolicy") not in RESUME_POLICIES:
        raise InvalidExperimentError(
            f"spec.resumePolicy: expected {', '.join(RESUME_POLICIES)}, "
            f"got {spec.get('resumePolicy')!r}"
        )
    template_rules.validate(spec)
    parameters = items(spec.get("parameters"))
    if not parameters and spec.get("nasConfig") is None:
        raise InvalidExperimentError("spec: set spec.parameters or spec.nasConfig")
    if parameters and spec.get("nasConfig") is not None:
        raise InvalidExperimentError("spec: set only one of spec.parameters and spec.nasConfig")
    for index, parameter in enumerate(parameters):
        _parameter(parameter, f"spec.parameters[{index}]")
    collector_rules.validate(spec)


def _name(metadata: dict[str, Any]) -> None:
    name = metadata.get("name")
    if not name:
        raise InvalidExperimentError("metadata.name: required")
    if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        raise InvalidExperimentError(
            f"metadata.name: {name!r} is not a valid Kubernetes name (lowercase letters, digits, "
            "'-' and '.'; the API server refuses it)"
        )
    if not _KATIB_NAME.match(name) or len(name) > MAX_NAME:
        raise InvalidExperimentError(
            f"metadata.name: {name!r} must start with a lowercase letter and be at most "
            f"{MAX_NAME} characters"
        )


def _counts(spec: dict[str, Any], parallel_given: bool) -> None:
    failed, most, parallel = (
        spec.get(k) for k in ("maxFailedTrialCount", "maxTrialCount", "parallelTrialCount")
    )
    if failed is not None and failed < 0:
        raise InvalidExperimentError(f"spec.maxFailedTrialCount: must be >= 0, got {failed}")
    if most is not None and most <= 0:
        raise InvalidExperimentError(f"spec.maxTrialCount: must be > 0, got {most}")
    if parallel is not None and parallel <= 0:
        raise InvalidExperimentError(f"spec.parallelTrialCount: must be > 0, got {parallel}")
    if most is not None and failed is not None and failed > most:
        raise InvalidExperimentError(
            f"spec.maxFailedTrialCount: {failed} is more than spec.maxTrialCount ({most})"
        )
    if most is not None and parallel is not None and parallel > most:
        default = "" if parallel_given else " (Katib's default, as it is not set)"
        raise InvalidExperimentError(
            f"spec.parallelTrialCount: {parallel}{default} is more than spec.maxTrialCount ({most})"
        )


def _objective(objective: dict[str, Any] | None) -> None:
    if objective is None:
        raise InvalidExperimentError("spec.objective: required")
    kind = objective.get("type")
    if kind not in ("minimize", "maximize"):
        raise InvalidExperimentError(
            "spec.objective.type: expected minimize or maximize, "
            + (f"got {kind!r}" if kind else "it is not set")
        )
    metric = objective.get("objectiveMetricName")
    if not metric:
        raise InvalidExperimentError("spec.objective.objectiveMetricName: required")
    if metric in items(objective.get("additionalMetricNames")):
        raise InvalidExperimentError(
            f"spec.objective.additionalMetricNames: must not repeat the objective metric {metric!r}"
        )


def _algorithm(algorithm: dict[str, Any] | None, where: str, *, required: bool) -> None:
    if algorithm is None:
        if required:
            raise InvalidExperimentError(f"{where}: required")
        return
    if not algorithm.get("algorithmName"):
        raise InvalidExperimentError(f"{where}.algorithmName: required")


def _parameter(parameter: dict[str, Any], where: str) -> None:
    kind = parameter.get("parameterType")
    if kind not in PARAMETER_TYPES:
        raise InvalidExperimentError(
            f"{where}.parameterType: expected double, int, discrete or categorical, got {kind!r}"
        )
    space: dict[str, Any] = parameter.get("feasibleSpace") or {}
    distribution = space.get("distribution")
    if distribution and distribution not in DISTRIBUTIONS:
        raise InvalidExperimentError(
            f"{where}.feasibleSpace.distribution: expected uniform, logUniform, normal or "
            f"logNormal, got {distribution!r}"
        )
    if not space:
        raise InvalidExperimentError(f"{where}.feasibleSpace: required")
    if kind in ("double", "int"):
        if space.get("list"):
            raise InvalidExperimentError(
                f"{where}.feasibleSpace.list: not for a parameter of type {kind} (use min and max)"
            )
        if not space.get("max") or not space.get("min"):
            raise InvalidExperimentError(
                f"{where}.feasibleSpace.max: min and max are required for type {kind}"
            )
    elif kind in ("categorical", "discrete") and any(space.get(k) for k in ("max", "min", "step")):
        raise InvalidExperimentError(
            f"{where}.feasibleSpace: min, max and step are not for type {kind} (use list)"
        )
