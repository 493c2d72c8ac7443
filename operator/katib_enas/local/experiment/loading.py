"""A Katib `kubeflow.org/v1beta1` Experiment YAML, loaded and checked into an `Experiment`.

Local mode runs the very file a user would `kubectl apply`, so this module accepts what Katib's
admission webhook accepts, fills the same defaults (parallelTrialCount 3, metric strategies,
StdOut collector) and rejects bad input with one line that names the field. What Katib accepts
but one machine cannot run (a trial template from a ConfigMap, a collector we do not implement)
loads fine and is reported by `Experiment.local_problems()`, so `validate` can say both.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from katib_enas.core import strategies
from katib_enas.core.settings import parse_settings
from katib_enas.local.experiment.fields import (
    InvalidExperimentError,
    count,
    known,
    mapping,
    string,
)
from katib_enas.local.experiment.model import ENAS_ALGORITHMS, Experiment
from katib_enas.local.experiment.nas import nas_config_spec, parameter_specs
from katib_enas.local.experiment.specs import (
    algorithm_spec,
    check_references,
    collector_spec,
    objective_spec,
    trial_template_spec,
)

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


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
    doc = mapping(raw, "the document")
    if doc.get("apiVersion") != "kubeflow.org/v1beta1":
        raise InvalidExperimentError(
            f"apiVersion: expected 'kubeflow.org/v1beta1', got {doc.get('apiVersion')!r}"
        )
    if doc.get("kind") != "Experiment":
        raise InvalidExperimentError(f"kind: expected 'Experiment', got {doc.get('kind')!r}")
    name, namespace = _metadata(doc.get("metadata"))
    spec = mapping(doc.get("spec"), "spec")
    known(spec, "spec", "spec")

    objective = objective_spec(spec.get("objective"))
    algorithm = algorithm_spec(spec.get("algorithm"), "spec.algorithm")
    early = spec.get("earlyStopping")
    early_stopping = None if early is None else algorithm_spec(early, "spec.earlyStopping")
    parallel = count(spec.get("parallelTrialCount", 3), "spec.parallelTrialCount", minimum=1)
    max_trials = spec.get("maxTrialCount")
    max_trial_count = None if max_trials is None else count(max_trials, "spec.maxTrialCount", 1)
    max_failed = spec.get("maxFailedTrialCount")
    max_failed_count = (
        None if max_failed is None else count(max_failed, "spec.maxFailedTrialCount", 0)
    )
    resume_policy = string(spec.get("resumePolicy", "Never"), "spec.resumePolicy")
    if resume_policy not in ("Never", "LongRunning", "FromVolume"):
        raise InvalidExperimentError(
            f"spec.resumePolicy: expected Never, LongRunning or FromVolume, got {resume_policy!r}"
        )
    collector = collector_spec(spec.get("metricsCollectorSpec"))

    nas_config = None if spec.get("nasConfig") is None else nas_config_spec(spec["nasConfig"])
    parameters = parameter_specs(spec.get("parameters"), "spec.parameters")
    if nas_config is None and not parameters:
        raise InvalidExperimentError("spec: set either spec.parameters or spec.nasConfig")
    if nas_config is not None and parameters:
        raise InvalidExperimentError("spec: set spec.parameters or spec.nasConfig, not both")
    if algorithm.name in ENAS_ALGORITHMS and nas_config is not None:
        # What ValidateAlgorithmSettings runs (settings, the space of the kind they name, the
        # strategy), so that bad ones fail here and not inside the service.
        strategies.build(nas_config, objective, parse_settings(algorithm.settings, name))

    template = trial_template_spec(spec.get("trialTemplate"))
    check_references(template, parameters, nas_config is not None, algorithm.name)

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
    )


def _metadata(raw: object) -> tuple[str, str]:
    metadata = mapping(raw, "metadata")
    name = string(metadata.get("name"), "metadata.name")
    if not _DNS_NAME.match(name) or len(name) > 40:
        raise InvalidExperimentError(
            f"metadata.name: {name!r} must be lowercase letters, digits and '-' (at most 40)"
        )
    return name, string(metadata.get("namespace", "default"), "metadata.namespace")
