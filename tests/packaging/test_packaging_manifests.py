"""Everything under manifests/ is valid for Katib and Kubernetes, and says what the user needs.

Experiments are checked three ways: Katib's OpenAPI schema (unknown keys rejected), Kubernetes'
schema for the trial Job they template, and our local runner's validator (`katib-enas validate`),
which also checks the search space and the trial command the way our service and trial will.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_enas.experiment import load_experiment

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests"
# Files that are not Kubernetes objects: kustomize inputs and the KatibConfig they carry.
NOT_OBJECTS = {"kustomization.yaml", "katib-config.yaml"}
Run = Callable[..., subprocess.CompletedProcess[str]]
Manifest = dict[str, Any]


def _documents() -> list[tuple[Path, Manifest]]:
    docs = []
    for path in sorted(MANIFESTS.rglob("*.y*ml")):
        if path.name not in NOT_OBJECTS:
            docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _experiment_files() -> list[Path]:
    return sorted({path for path, doc in _documents() if doc.get("kind") == "Experiment"})


def _id(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


def _experiment(name: str) -> Manifest:
    [doc] = [
        d for _, d in _documents() if d["kind"] == "Experiment" and d["metadata"]["name"] == name
    ]
    return doc


def test_the_three_experiments_exist() -> None:
    names = {doc["metadata"]["name"] for _, doc in _documents() if doc["kind"] == "Experiment"}
    assert names >= {"enas-macro-cifar10", "enas-cpu-smoke", "enas-gpu"}


@pytest.mark.parametrize("path", _experiment_files(), ids=_id)
def test_experiment_matches_katib_schema_and_kubernetes(
    path: Path,
    katib_schema: Callable[[str, Any], list[str]],
    validate_kubernetes: Callable[[Manifest], None],
) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc["kind"] != "Experiment":
            continue
        assert doc["apiVersion"] == "kubeflow.org/v1beta1"
        assert katib_schema("v1beta1.Experiment", doc) == []
        template = doc["spec"]["trialTemplate"]
        if "trialSpec" in template:
            validate_kubernetes(template["trialSpec"])
        # Katib substitutes by plain text: every assignment needs its trialParameter, and every
        # trialParameter must be used in the template.
        text = yaml.safe_dump(template.get("trialSpec", {}))
        for parameter in template["trialParameters"]:
            assert f"${{trialParameters.{parameter['name']}}}" in text, parameter["name"]


@pytest.mark.slow  # a `katib-enas validate` process per file
@pytest.mark.parametrize("path", _experiment_files(), ids=_id)
def test_experiment_loads_in_the_local_runner_validator(path: Path, run_tool: Run) -> None:
    katib_enas = Path(sys.executable).with_name("katib-enas")
    result = run_tool([str(katib_enas), "validate", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_katib_schema_check_rejects_unknown_keys(
    katib_schema: Callable[[str, Any], list[str]],
) -> None:
    doc = _experiment("enas-cpu-smoke")
    doc["spec"]["algorithm"]["algorithmSetting"] = []  # typo of algorithmSettings
    doc["spec"]["nasConfig"]["graphConfig"]["numLayer"] = 2
    errors = katib_schema("v1beta1.Experiment", doc)
    assert any("algorithmSetting" in e for e in errors), errors
    assert any("numLayer" in e for e in errors), errors


def test_other_objects_are_valid_kubernetes(
    validate_kubernetes: Callable[[Manifest], None],
) -> None:
    others = [doc for _, doc in _documents() if doc["kind"] != "Experiment"]
    assert {"Namespace", "PersistentVolumeClaim", "Job"} <= {doc["kind"] for doc in others}
    for doc in others:
        validate_kubernetes(doc)


def test_experiment_namespaces_are_labelled_for_metrics_collection() -> None:
    labelled = {
        doc["metadata"]["name"]
        for _, doc in _documents()
        if doc["kind"] == "Namespace"
        and doc["metadata"]["labels"].get("katib.kubeflow.org/metrics-collector-injection")
        == "enabled"
    }
    for path, doc in _documents():
        if doc["kind"] == "Experiment" and path.parent.name == "experiments":
            assert doc["metadata"]["namespace"] in labelled, _id(path)


def _primary(doc: Manifest) -> Manifest:
    template = doc["spec"]["trialTemplate"]
    pod = template["trialSpec"]["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == template["primaryContainerName"]]
    return dict(container)


def test_gpu_macro_search_is_the_papers_space_on_parallel_gpu_trials() -> None:
    doc = _experiment("enas-macro-cifar10")
    spec = doc["spec"]
    assert spec["nasConfig"]["graphConfig"] == {
        "numLayers": 12,
        "inputSizes": [32, 32, 3],
        "outputSizes": [10],
    }
    ops = []
    for operation in spec["nasConfig"]["operations"]:
        params = {p["name"]: p["feasibleSpace"] for p in operation["parameters"]}
        first = params.get("filter_size", params.get("reduction_type", {})).get("list", [])
        ops += [(operation["operationType"], value) for value in first]
    assert ops == [
        ("convolution", "3"),
        ("convolution", "5"),
        ("separable_convolution", "3"),
        ("separable_convolution", "5"),
        ("reduction", "max_pooling"),
        ("reduction", "avg_pooling"),
    ]
    assert spec["parallelTrialCount"] > 1
    assert spec["resumePolicy"] == "FromVolume"
    assert spec["objective"]["metricStrategies"] == [
        {"name": "Validation-Accuracy", "value": "latest"}
    ]
    assert spec["algorithm"]["algorithmName"] == "enas-torch"
    container = _primary(doc)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["image"] == "ghcr.io/katib-enas/trial:0.1.0"
    assert "--data-dir=/data/cifar10" in container["command"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/data/cifar10"]
    assert mount["readOnly"] is True


def test_gpu_micro_search_is_the_papers_micro_setting_on_parallel_gpu_trials() -> None:
    """Issue 10: ENAS's micro search (5-node cells, the five ENAS operations) as GPU trial pods."""
    doc = _experiment("enas-micro-cifar10")
    spec = doc["spec"]
    settings = {s["name"]: s["value"] for s in spec["algorithm"]["algorithmSettings"]}
    assert settings == {
        "search_space": "micro",
        "num_nodes": "5",
        "init_channels": "20",
        "stem_multiplier": "3",
    }
    assert spec["nasConfig"]["graphConfig"]["inputSizes"] == [32, 32, 3]
    space = load_experiment(
        MANIFESTS / "experiments" / "enas-micro-cifar10-gpu.yaml"
    ).search_space()
    assert space is not None and space.summary() == "micro: 8 cells of 5 nodes x 5 operations"
    assert [op.op_type for op in space.operations] == [
        "separable_convolution",
        "separable_convolution",
        "reduction",
        "reduction",
        "identity",
    ]
    assert spec["parallelTrialCount"] > 1 and spec["resumePolicy"] == "FromVolume"
    container = _primary(doc)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["image"] == "ghcr.io/katib-enas/trial:0.1.0"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_stock_enas_gpu_is_repointed_at_our_images(katib_dir: Path) -> None:
    stock = yaml.safe_load((katib_dir / "examples" / "enas-gpu.yaml").read_text())
    ours = _experiment("enas-gpu")
    assert ours["spec"]["nasConfig"] == stock["spec"]["nasConfig"]
    for key in ("parallelTrialCount", "maxTrialCount"):
        assert ours["spec"][key] == stock["spec"][key], key
    # The stock objective, plus the metrics our trial reports for the Katib UI to store.
    objective = dict(ours["spec"]["objective"])
    assert objective.pop("additionalMetricNames") == ["Test-Accuracy", "Parameter-Count"]
    assert objective == stock["spec"]["objective"]
    container = _primary(ours)
    assert container["image"] == "ghcr.io/katib-enas/trial:0.1.0"
    assert container["command"][0] == "enas-trial"
    assert "--download" in container["command"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_every_experiment_has_katib_store_test_accuracy_and_parameter_count() -> None:
    """Katib keeps only the metrics an Experiment names: ours name what enas-trial reports
    beyond the objective, so the Katib UI shows each child's test accuracy and size. A
    weight-sharing trial scores no test split (its accuracy only ranks children), so those
    Experiments name the size alone."""
    experiments = [(p, d) for p, d in _documents() if d["kind"] == "Experiment"]
    assert len(experiments) >= 8
    for path, doc in experiments:
        names = set(doc["spec"]["objective"].get("additionalMetricNames") or [])
        raw = doc["spec"]["algorithm"].get("algorithmSettings") or []
        settings = {s["name"]: s["value"] for s in raw}
        if settings.get("weight_sharing") == "true":
            assert "Parameter-Count" in names and "Test-Accuracy" not in names, _id(path)
        else:
            assert {"Test-Accuracy", "Parameter-Count"} <= names, _id(path)


def test_cpu_smoke_needs_no_gpu_and_no_download() -> None:
    container = _primary(_experiment("enas-cpu-smoke"))
    assert container["image"] == "ghcr.io/katib-enas/trial-cpu:0.1.0"
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert "--dataset=digits" in container["command"]
    assert "--download" not in container["command"]


def test_trials_run_without_privileges_on_a_read_only_root() -> None:
    """Every cluster Experiment of ours; the CPU trial's contract is proven in the pod sandbox
    (test_packaging_sandbox_trial.py), and CUDA trials also get an emptyDir at /tmp."""
    checked = []
    for path, doc in _documents():
        if doc["kind"] != "Experiment" or path.name == "digits.yaml":  # digits.yaml: local only
            continue
        pod = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, _id(path)
        assert pod["securityContext"]["runAsGroup"] == 0, _id(path)
        container = _primary(doc)
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert security["readOnlyRootFilesystem"] is True, _id(path)
        if container["image"].startswith("ghcr.io/katib-enas/trial:"):
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, _id(path)
        checked.append(_id(path))
    assert len(checked) >= 4, checked


def test_cifar10_download_job_runs_the_trial_packages_downloader(
    tmp_path: Path, run_tool: Run
) -> None:
    # With the batches already there the downloader must find them and not touch the network.
    [job] = [d for _, d in _documents() if d["metadata"]["name"] == "cifar10-download"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["python3", "-c"]
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(b"")
    code = container["command"][2].replace("/data/cifar10", str(tmp_path))
    result = run_tool([sys.executable, "-c", code], env={**os.environ, "no_proxy": "*"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(folder)
