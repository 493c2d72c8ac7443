"""A Katib `kubeflow.org/v1beta1` Experiment YAML, checked as a Katib v0.19 cluster checks it.

Local mode runs the very file a user would `kubectl apply`, so loading goes the way the cluster
goes: decode (the shape: `types`, `shape`), Katib's defaulting webhook (`defaults`), its
validating webhook (`webhook`, `template_rules`, `collector_rules`), then this project's
deliberately stricter rules (`strict_rules`), and only then the model (`specs`, `nas`). The
first refusal is one line naming the field. What the cluster alone can check comes back as
notes (`cluster_checks`). What Katib accepts but one machine cannot run is the runner's
question (`katib_enas.local.runnable`); the algorithm settings are checked by the suggestion
service's own ValidateAlgorithmSettings (`katib_enas.local.preflight`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from katib_enas.experiment import cluster_checks, shape, strict_rules, webhook
from katib_enas.experiment.defaults import apply_defaults
from katib_enas.experiment.fields import InvalidExperimentError, dig, mapping
from katib_enas.experiment.model import Experiment
from katib_enas.experiment.nas import nas_config_spec, parameter_specs
from katib_enas.experiment.specs import (
    algorithm_spec,
    collector_spec,
    objective_spec,
    trial_template_spec,
)
from katib_enas.experiment.types import EXPERIMENT, EXPERIMENT_POLICY, registry

API_VERSION = "kubeflow.org/v1beta1"


@dataclass(frozen=True)
class Checked:
    """An Experiment that passed every check: the model, the manifest as Katib stores it (with
    its defaults) and what only the cluster can check."""

    experiment: Experiment
    defaulted: dict[str, Any]
    cluster_notes: tuple[str, ...]


def load_experiment(path: Path) -> Experiment:
    """Read and check an Experiment YAML file."""
    return check_file(path).experiment


def check_file(path: Path) -> Checked:
    """Read an Experiment YAML file and run every check on it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidExperimentError(f"{path}: cannot read ({error.strerror})") from None
    return check_document(_one_document(text, str(path)))


def parse_experiment(text: str, *, source: str = "<experiment>") -> Experiment:
    """Check YAML text holding exactly one Experiment."""
    return check_document(_one_document(text, source)).experiment


def experiment_from_dict(raw: object) -> Experiment:
    """Check a decoded Experiment manifest and build the model."""
    return check_document(raw).experiment


def check_document(raw: object) -> Checked:
    """Decode, default, validate (Katib's rules, then ours) and build, in the cluster's order."""
    doc = mapping(raw, "the document")
    for key, expected in (("apiVersion", API_VERSION), ("kind", "Experiment")):
        if key not in doc or doc[key] is None:
            raise InvalidExperimentError(f"{key}: required ({expected!r})")
        if doc[key] != expected:
            raise InvalidExperimentError(f"{key}: expected {expected!r}, got {doc[key]!r}")
    missing = [key for key in ("metadata", "spec") if doc.get(key) is None]
    if missing:  # every one at once: a new manifest often lacks both
        raise InvalidExperimentError(f"{', '.join(missing)}: required")
    shape.check(doc, EXPERIMENT, registry(), "", EXPERIMENT_POLICY)
    decoded = _decoded(doc)
    if not isinstance(decoded.get("spec"), dict):
        raise InvalidExperimentError("spec: required")
    defaulted = apply_defaults(decoded)
    webhook.validate(defaulted, parallel_given="parallelTrialCount" in decoded["spec"])
    strict_rules.check(defaulted)
    return Checked(_build(defaulted), defaulted, tuple(cluster_checks.notes(defaulted)))


def _decoded(doc: dict[str, Any]) -> dict[str, Any]:
    """The manifest as Katib's decoder sees it: null fields unset, the trial spec untouched."""
    decoded: dict[str, Any] = shape.strip_nulls(doc)
    decoded.pop("status", None)  # the API server ignores it on create
    trial_spec = dig(doc, "spec", "trialTemplate", "trialSpec")
    if trial_spec is not None:
        decoded["spec"]["trialTemplate"]["trialSpec"] = copy.deepcopy(trial_spec)
    return decoded


def _build(doc: dict[str, Any]) -> Experiment:
    spec: dict[str, Any] = doc["spec"]
    metadata: dict[str, Any] = doc["metadata"]
    early = spec.get("earlyStopping")
    nas = spec.get("nasConfig")
    return Experiment(
        name=metadata["name"],
        namespace=metadata.get("namespace") or "default",
        objective=objective_spec(spec["objective"]),
        algorithm=algorithm_spec(spec["algorithm"]),
        early_stopping=None if early is None else algorithm_spec(early),
        parallel_trial_count=spec["parallelTrialCount"],
        max_trial_count=spec.get("maxTrialCount"),
        max_failed_trial_count=spec.get("maxFailedTrialCount"),
        metrics_collector=collector_spec(spec["metricsCollectorSpec"]),
        trial_template=trial_template_spec(spec["trialTemplate"]),
        nas_config=None if nas is None else nas_config_spec(nas),
        parameters=parameter_specs(spec.get("parameters"), "spec"),
        resume_policy=spec["resumePolicy"],
    )


def _one_document(text: str, source: str) -> object:
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise InvalidExperimentError(f"{source}: not valid YAML{_yaml_problem(error)}") from None
    if len(documents) != 1:
        raise InvalidExperimentError(
            f"{source}: expected one YAML document (an Experiment), found {len(documents)}"
        )
    return documents[0]


def _yaml_problem(error: yaml.YAMLError) -> str:
    """` at line 3, column 7: mapping values are not allowed here`: PyYAML's own words."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}" if problem else where
