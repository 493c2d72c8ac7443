"""What Katib's admission checks ask of the cluster, which no file can answer.

The webhook looks up katib-config (the algorithm, the early stopping algorithm, the metrics
collector's sidecar), the namespace's label, a leftover volume for `resumePolicy: FromVolume`,
the template ConfigMap, and on `kubectl apply` to an existing Experiment, the update rules; the
controller needs the trial kind's CRD. `validate` prints these as notes naming what the cluster
will check, so a "valid" verdict says exactly how far it goes.
"""

from __future__ import annotations

from typing import Any

from katib_enas.experiment.fields import dig

# Metrics collector kinds whose sidecar comes from katib-config (Push and Custom need none).
SIDECAR_KINDS = ("StdOut", "File", "TensorFlowEvent", "PrometheusMetric")
INJECTION_LABEL = "katib.kubeflow.org/metrics-collector-injection=enabled"
OUR_ALGORITHM = "enas-torch"


def notes(doc: dict[str, Any]) -> list[str]:
    """One line per check the cluster makes, for a defaulted, valid manifest."""
    spec: dict[str, Any] = doc["spec"]
    name = doc["metadata"]["name"]
    given = doc["metadata"].get("namespace")
    namespace = given or "<namespace>"
    where = f"namespace {given!r}" if given else "the namespace it is applied to"
    algorithm = dig(spec, "algorithm", "algorithmName")
    ours = " (`katib-enas register` adds it)" if algorithm == OUR_ALGORITHM else ""
    lines = [
        f"spec.algorithm.algorithmName: katib-config has a suggestion for {algorithm!r}{ours}",
        f"metadata.namespace: {where} is labelled {INJECTION_LABEL}",
    ]
    early = dig(spec, "earlyStopping", "algorithmName")
    if early:
        lines.append(
            f"spec.earlyStopping.algorithmName: katib-config has an early stopping entry for "
            f"{early!r}"
        )
    kind = dig(spec, "metricsCollectorSpec", "collector", "kind")
    if kind in SIDECAR_KINDS:
        lines.append(
            f"spec.metricsCollectorSpec.collector.kind: katib-config has a metrics collector "
            f"sidecar for {kind}"
        )
    if spec.get("resumePolicy") == "FromVolume":
        lines.append(
            f"spec.resumePolicy: no PersistentVolume {name}-{algorithm}-{namespace} is left from "
            "an earlier Experiment of this name"
        )
    lines.extend(_template_notes(spec.get("trialTemplate") or {}))
    lines.append(
        f"metadata.name: if Experiment {name!r} already exists, `kubectl apply` is an update: "
        "only parallelTrialCount, maxTrialCount and maxFailedTrialCount may change, maxTrialCount "
        "must exceed the trials run, and a finished Experiment restarts only with resumePolicy "
        "LongRunning or FromVolume"
    )
    return lines


def _template_notes(template: dict[str, Any]) -> list[str]:
    config_map = template.get("configMap")
    if config_map is not None:
        return [
            f"spec.trialTemplate.configMap: ConfigMap {config_map['configMapNamespace']}/"
            f"{config_map['configMapName']} holds the template at {config_map['templatePath']!r}, "
            "its placeholders match trialParameters, it sets no metadata.name or namespace, "
            "and it has an apiVersion and a kind"
        ]
    trial_spec = template.get("trialSpec") or {}
    kind, api_version = trial_spec.get("kind"), trial_spec.get("apiVersion")
    if (api_version, kind) == ("batch/v1", "Job"):
        return []
    return [
        f"spec.trialTemplate.trialSpec.kind: the CRD of {kind} ({api_version}) is installed "
        "and listed in katib-config's trialResources; Katib does not check its fields"
    ]
