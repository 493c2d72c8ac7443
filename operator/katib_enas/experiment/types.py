"""The types an Experiment is made of: Katib's v1beta1 types (written here, and kept equal to
Katib's OpenAPI spec by a test) and the Kubernetes v1.34 types they and a batch/v1 Job trial
spec use (generated into `kube_types.json` by `scripts/generate_kube_types.py`).

Also the two `Policy`s of `shape`: what the webhook's decoding does with an Experiment (types
refused, unknown fields dropped, which we refuse and say so) and what its Job round trip does
with a trial spec (unknown fields and empty optional values refused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from katib_enas.experiment.fields import InvalidExperimentError, child, did_you_mean
from katib_enas.experiment.shape import ObjectType, Policy, Registry

_S, _I, _N, _B = "string", "integer", "number", "boolean"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
JOB = "io.k8s.api.batch.v1.Job"
EXPERIMENT = "v1beta1.Experiment"

# Katib v1beta1 (pkg/apis/controller/{experiments,common}/v1beta1), named as in its OpenAPI spec.
KATIB_TYPES: dict[str, ObjectType] = {
    EXPERIMENT: ObjectType(
        {"apiVersion": _S, "kind": _S, "metadata": OBJECT_META, "spec": "v1beta1.ExperimentSpec"}
        | {"status": "any"}  # written by the controller; the API server ignores it on create
    ),
    "v1beta1.ExperimentSpec": ObjectType(
        {
            "algorithm": "v1beta1.AlgorithmSpec",
            "earlyStopping": "v1beta1.EarlyStoppingSpec",
            "maxFailedTrialCount": _I,
            "maxTrialCount": _I,
            "metricsCollectorSpec": "v1beta1.MetricsCollectorSpec",
            "nasConfig": "v1beta1.NasConfig",
            "objective": "v1beta1.ObjectiveSpec",
            "parallelTrialCount": _I,
            "parameters": {"list": "v1beta1.ParameterSpec"},
            "resumePolicy": _S,
            "trialTemplate": "v1beta1.TrialTemplate",
        }
    ),
    "v1beta1.AlgorithmSpec": ObjectType(
        {"algorithmName": _S, "algorithmSettings": {"list": "v1beta1.AlgorithmSetting"}}
    ),
    "v1beta1.AlgorithmSetting": ObjectType({"name": _S, "value": _S}),
    "v1beta1.EarlyStoppingSpec": ObjectType(
        {"algorithmName": _S, "algorithmSettings": {"list": "v1beta1.EarlyStoppingSetting"}}
    ),
    "v1beta1.EarlyStoppingSetting": ObjectType({"name": _S, "value": _S}),
    "v1beta1.ObjectiveSpec": ObjectType(
        {
            "additionalMetricNames": {"list": _S},
            "goal": _N,
            "metricStrategies": {"list": "v1beta1.MetricStrategy"},
            "objectiveMetricName": _S,
            "type": _S,
        }
    ),
    "v1beta1.MetricStrategy": ObjectType({"name": _S, "value": _S}),
    "v1beta1.ParameterSpec": ObjectType(
        {"feasibleSpace": "v1beta1.FeasibleSpace", "name": _S, "parameterType": _S}
    ),
    "v1beta1.FeasibleSpace": ObjectType(
        {"distribution": _S, "list": {"list": _S}, "max": _S, "min": _S, "step": _S}
    ),
    "v1beta1.NasConfig": ObjectType(
        {"graphConfig": "v1beta1.GraphConfig", "operations": {"list": "v1beta1.Operation"}}
    ),
    "v1beta1.GraphConfig": ObjectType(
        {"inputSizes": {"list": _I}, "numLayers": _I, "outputSizes": {"list": _I}}
    ),
    "v1beta1.Operation": ObjectType(
        {"operationType": _S, "parameters": {"list": "v1beta1.ParameterSpec"}}
    ),
    "v1beta1.MetricsCollectorSpec": ObjectType(
        {"collector": "v1beta1.CollectorSpec", "source": "v1beta1.SourceSpec"}
    ),
    "v1beta1.CollectorSpec": ObjectType(
        {"customCollector": "io.k8s.api.core.v1.Container", "kind": _S}
    ),
    "v1beta1.SourceSpec": ObjectType(
        {
            "fileSystemPath": "v1beta1.FileSystemPath",
            "filter": "v1beta1.FilterSpec",
            "httpGet": "io.k8s.api.core.v1.HTTPGetAction",
        }
    ),
    "v1beta1.FileSystemPath": ObjectType({"format": _S, "kind": _S, "path": _S}),
    "v1beta1.FilterSpec": ObjectType({"metricsFormat": {"list": _S}}),
    "v1beta1.TrialTemplate": ObjectType(
        {
            "configMap": "v1beta1.ConfigMapSource",
            "failureCondition": _S,
            "primaryContainerName": _S,
            "primaryPodLabels": {"map": _S},
            "retain": _B,
            "successCondition": _S,
            "trialParameters": {"list": "v1beta1.TrialParameterSpec"},
            "trialSpec": "unstructured",
        }
    ),
    "v1beta1.ConfigMapSource": ObjectType(
        {"configMapName": _S, "configMapNamespace": _S, "templatePath": _S}
    ),
    "v1beta1.TrialParameterSpec": ObjectType({"description": _S, "name": _S, "reference": _S}),
}


@cache
def kube_types() -> Registry:
    """Kubernetes v1.34's Job and everything in it (ObjectMeta, Container, HTTPGetAction...)."""
    path = Path(__file__).with_name("kube_types.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: ObjectType(entry["fields"], frozenset(entry["required"]))
        for name, entry in raw["types"].items()
    }


@cache
def registry() -> Registry:
    """Every type an Experiment names, Katib's and Kubernetes'."""
    return {**kube_types(), **KATIB_TYPES}


def _dropped_field(where: str, key: str, known: Iterable[str]) -> InvalidExperimentError:
    return InvalidExperimentError(
        f"{child(where, key)}: unknown field{did_you_mean(key, known)} (Katib accepts this, but "
        "drops the field without a word)"
    )


def _refused_job_field(where: str, key: str, known: Iterable[str]) -> InvalidExperimentError:
    return InvalidExperimentError(
        f"{child(where, key)}: unknown field of a batch/v1 Job{did_you_mean(key, known)} "
        "(Katib refuses a trial template it cannot convert to a Job)"
    )


# The webhook decoding an Experiment: a wrong type is a refusal, an unknown field a silent drop.
EXPERIMENT_POLICY = Policy(unknown=_dropped_field, refusal=" (Katib cannot decode it)")
# The webhook's Job round trip of a trial spec: anything that does not survive is a refusal.
JOB_POLICY = Policy(
    unknown=_refused_job_field,
    refusal=" (Katib refuses a trial template it cannot convert to a batch/v1 Job)",
    drops_empty=True,
)
