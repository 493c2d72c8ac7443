"""Katib's defaulting webhook on an Experiment manifest (`Experiment.SetDefault`, v0.19).

The mutating webhook runs before the validating one, so every rule Katib checks sees these
defaults: a `maxTrialCount: 2` without `parallelTrialCount` is refused because the default 3
exceeds it; a File collector without `source` is valid because the default path is filled in.
`katib-enas validate --defaults` prints the result, as `kubectl apply` would store it.
Same order as Katib: parallel trials, resume policy, objective, trial template, metrics
collector, parameter distributions.
"""

from __future__ import annotations

import copy
from typing import Any

PARALLEL_TRIALS = 3
RESUME_POLICY = "Never"
JOB_SUCCESS = 'status.conditions.#(type=="Complete")#|#(status=="True")#'
JOB_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
KUBEFLOW_SUCCESS = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
KUBEFLOW_FAILURE = JOB_FAILURE
# Kubeflow training kinds: their conditions and the labels of the pod that runs the metrics.
KUBEFLOW_KINDS = frozenset({"TFJob", "PyTorchJob", "XGBoostJob", "MPIJob", "TrainJob"})
KUBEFLOW_POD_LABELS = {"training.kubeflow.org/job-role": "master"}
TRAINJOB_POD_LABELS = {
    "jobset.sigs.k8s.io/replicatedjob-name": "node",
    "batch.kubernetes.io/job-completion-index": "0",
}
FILE_PATH = "/var/log/katib/metrics.log"
TFEVENT_DIR = "/var/log/katib/tfevent/"
PROMETHEUS_PATH = "/metrics"
PROMETHEUS_PORT = 8080


def apply_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the (shape-checked, null-free) manifest with Katib's defaults filled in."""
    doc = copy.deepcopy(document)
    spec = doc.setdefault("spec", {})
    spec.setdefault("parallelTrialCount", PARALLEL_TRIALS)
    if not spec.get("resumePolicy"):
        spec["resumePolicy"] = RESUME_POLICY
    if isinstance(spec.get("objective"), dict):
        _objective(spec["objective"])
    if isinstance(spec.get("trialTemplate"), dict):
        _trial_template(spec["trialTemplate"])
    _metrics_collector(spec)
    for parameter in spec.get("parameters") or []:
        space = parameter.setdefault("feasibleSpace", {})
        if not space.get("distribution"):
            space["distribution"] = "uniform"
    return doc


def _objective(objective: dict[str, Any]) -> None:
    """Every metric gets a strategy; unset ones follow the objective type (else `latest`)."""
    strategies = objective.setdefault("metricStrategies", [])
    metric = objective.get("objectiveMetricName", "")
    named = {s.get("name") for s in strategies}
    default = {"minimize": "min", "maximize": "max"}.get(objective.get("type", ""), "latest")
    if metric not in named:
        strategies.append({"name": metric, "value": default})
    others = named - {metric}
    for name in objective.get("additionalMetricNames") or []:
        if name not in others:
            strategies.append({"name": name, "value": default})


def _trial_template(template: dict[str, Any]) -> None:
    """Conditions (and primary pod labels) for the kinds Katib knows; none from a ConfigMap."""
    trial_spec = template.get("trialSpec")
    if not isinstance(trial_spec, dict):
        return
    kind = trial_spec.get("kind")
    if kind == "Job":
        success, failure, labels = JOB_SUCCESS, JOB_FAILURE, None
    elif kind == "TrainJob":
        success, failure, labels = JOB_SUCCESS, JOB_FAILURE, TRAINJOB_POD_LABELS
    elif kind in KUBEFLOW_KINDS:
        success, failure, labels = KUBEFLOW_SUCCESS, KUBEFLOW_FAILURE, KUBEFLOW_POD_LABELS
    else:
        return
    if not template.get("successCondition"):
        template["successCondition"] = success
    if not template.get("failureCondition"):
        template["failureCondition"] = failure
    if labels is not None and not template.get("primaryPodLabels"):
        template["primaryPodLabels"] = dict(labels)


def _metrics_collector(spec: dict[str, Any]) -> None:
    collector_spec = spec.setdefault("metricsCollectorSpec", {})
    if "collector" not in collector_spec:
        collector_spec["collector"] = {"kind": "StdOut"}
    kind = collector_spec["collector"].get("kind")
    if kind == "PrometheusMetric":
        http = collector_spec.setdefault("source", {}).setdefault("httpGet", {})
        if not http.get("path"):
            http["path"] = PROMETHEUS_PATH
        if str(http.get("port", 0)) == "0":  # IntOrString.String() of an unset port
            http["port"] = PROMETHEUS_PORT
    elif kind in ("File", "TensorFlowEvent"):
        path = collector_spec.setdefault("source", {}).setdefault("fileSystemPath", {})
        is_file = kind == "File"
        if not path.get("kind"):
            path["kind"] = "File" if is_file else "Directory"
        if not path.get("path"):
            path["path"] = FILE_PATH if is_file else TFEVENT_DIR
        if is_file and not path.get("format"):
            path["format"] = "TEXT"
