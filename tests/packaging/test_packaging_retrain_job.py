"""The cluster retrain Job (`local.retrain_job`) for every shipped Experiment: valid for
Kubernetes 1.34, our trial image, the assignments without weight sharing, the model on a volume."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from katib_enas.analysis.retrain_job import model_claim, retrain_job
from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.experiment import load_experiment

EXPERIMENTS = sorted((Path(__file__).resolve().parents[2] / "manifests").glob("*/*.yaml"))
Validate = Callable[[Mapping[str, Any]], None]


def _experiments() -> list[Path]:
    return [
        p
        for p in EXPERIMENTS
        if any((d or {}).get("kind") == "Experiment" for d in yaml.safe_load_all(p.read_text()))
    ]


@pytest.mark.parametrize("path", _experiments(), ids=lambda p: p.name)
def test_retrain_job_of_each_experiment_is_valid(path: Path, validate_kubernetes: Validate) -> None:
    experiment = load_experiment(path)
    space = experiment.search_space()
    assert space is not None
    assignments = space.encode(space.sample_uniform(torch.Generator().manual_seed(1)))
    config = from_katib_json(assignments["nn_config"])
    assert isinstance(config, dict)
    assignments["nn_config"] = to_katib_json({**config, "shared": {"slice_steps": 5}})
    job = retrain_job(experiment, assignments, epochs=300, label="derived-1")
    claim = model_claim(experiment)
    validate_kubernetes(job)
    validate_kubernetes(claim)
    container = job["spec"]["template"]["spec"]["containers"][0]
    image = container["image"]
    assert image.startswith("ghcr.io/katib-enas/trial"), image
    command = container["command"]
    assert "--num_epochs=300" in command
    assert "--save-model=/models/derived-1/model.pt" in command
    assert f"--nn_config={to_katib_json(config)}" in command  # weight sharing stripped
    assert not any(w.startswith(("--push-metrics", "--metrics-file")) for w in command)
    assert job["metadata"]["name"].startswith(experiment.name[:20])
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
