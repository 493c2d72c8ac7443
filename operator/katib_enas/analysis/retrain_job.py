"""A Kubernetes Job that retrains one architecture on a cluster, as `katib-enas retrain` does
here: our trial image from the Experiment's template, the architecture and `nn_config` (weight
sharing stripped), the full schedule, the model saved to a volume.

It builds the manifests (dicts) and talks to no cluster; `write_retrain_job` writes them, with
the volume claim from `model_claim`, for `katib-enas results --emit-job` and `katib-enas derive`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from katib_enas.analysis.retrain_command import (
    retrain_args,
    retrain_assignments,
    search_epochs,
    trial_container,
)
from katib_enas.atomic import write_atomic
from katib_enas.experiment import Experiment
from katib_enas.experiment.substitution import render_trial_spec
from katib_enas.local.launch import container_argv

MODEL_MOUNT = "/models"
MODEL_VOLUME = "model"
LABEL = "app.kubernetes.io/name"
_DNS = re.compile(r"[^a-z0-9-]+")


def job_name(experiment: str, label: str) -> str:
    """`<experiment>-retrain-<label>`, cut to a valid object name (63 characters)."""
    name = _DNS.sub("-", f"{experiment}-retrain-{label}".lower()).strip("-")
    return name[:63].rstrip("-")


def claim_name(experiment: str) -> str:
    return job_name(experiment, "models")


def retrain_job(
    experiment: Experiment,
    assignments: Mapping[str, str],
    *,
    epochs: int | None = None,
    label: str = "best",
    claim: str | None = None,
) -> dict[str, Any]:
    """The Job manifest. `epochs` None: the search trials' `--num_epochs`. The model and its
    summary go to `/models/<label>/` on the claim `claim` (default `claim_name(experiment)`)."""
    child = retrain_assignments(assignments)
    name = job_name(experiment.name, label)
    container = trial_container(experiment, child, name)
    words = container_argv(container)
    directory = f"{MODEL_MOUNT}/{label}"
    command = retrain_args(
        words,
        child,
        epochs=epochs if epochs is not None else search_epochs(words),
        model_path=f"{directory}/model.pt",
        summary_path=f"{directory}/summary.json",
    )
    container.pop("args", None)  # the whole command line is in `command` now
    container["command"] = command
    mounts = [m for m in container.get("volumeMounts") or () if m.get("name") != MODEL_VOLUME]
    container["volumeMounts"] = [*mounts, {"name": MODEL_VOLUME, "mountPath": MODEL_MOUNT}]
    manifest = render_trial_spec(
        experiment.trial_template, child, trial_name=name, namespace=experiment.namespace
    )
    pod = copy.deepcopy(manifest["spec"]["template"])
    spec = pod.setdefault("spec", {})
    spec["containers"] = [
        container if c.get("name") == container["name"] else c for c in spec["containers"]
    ]
    spec["restartPolicy"] = "Never"
    volumes = [v for v in spec.get("volumes") or () if v.get("name") != MODEL_VOLUME]
    spec["volumes"] = [
        *volumes,
        {
            "name": MODEL_VOLUME,
            "persistentVolumeClaim": {"claimName": claim or claim_name(experiment.name)},
        },
    ]
    labels = {LABEL: "katib-enas-retrain", "katib-enas/experiment": experiment.name[:63]}
    pod.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": experiment.namespace, "labels": labels},
        "spec": {"backoffLimit": 0, "template": pod},
    }


def model_claim(experiment: Experiment, size: str = "1Gi") -> dict[str, Any]:
    """The volume claim the retrained models are saved to (kept after the Job is deleted)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(experiment.name),
            "namespace": experiment.namespace,
            "labels": {LABEL: "katib-enas-retrain"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def write_retrain_job(
    path: Path,
    experiment: Experiment,
    assignments: Mapping[str, str],
    *,
    epochs: int | None,
    label: str,
) -> str:
    """The model claim and the retrain Job as one YAML file at `path` (for `kubectl apply -f`),
    written atomically; returns the Job's name."""
    job = retrain_job(experiment, assignments, epochs=epochs, label=label)
    write_atomic(path, yaml.safe_dump_all([model_claim(experiment), job], sort_keys=False))
    return str(job["metadata"]["name"])
