"""Loading and validating Experiment YAMLs: Katib's own examples, ours, and broken ones."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from katib_enas.experiment import (
    InvalidExperimentError,
    experiment_from_dict,
    load_experiment,
)
from katib_enas.local.runnable import local_problems

KATIB_EXAMPLES = [
    "darts-cpu.yaml",
    "enas-cpu.yaml",
    "enas-gpu.yaml",
    "file-metrics-collector-with-json-format.yaml",
    "file-metrics-collector.yaml",
    "median-stop.yaml",
    "metrics-collection-strategy.yaml",
]


@pytest.mark.parametrize("name", KATIB_EXAMPLES)
def test_every_katib_example_loads(katib_examples: Path, name: str) -> None:
    experiment = load_experiment(katib_examples / name)
    problems = local_problems(experiment)
    if experiment.algorithm.name == "enas":
        assert problems == []
    else:
        # Katib accepts them; locally they need another suggestion service, and we say so.
        assert problems and problems[0].startswith("spec.algorithm.algorithmName:")
        assert local_problems(experiment, remote_suggestion=True) == []


def test_katib_example_semantics(katib_examples: Path) -> None:
    json_file = load_experiment(katib_examples / "file-metrics-collector-with-json-format.yaml")
    assert json_file.metrics_collector.kind == "File"
    assert json_file.metrics_collector.file_format == "JSON"
    assert json_file.metrics_collector.file_path == "/katib/mnist.json"
    strategies = load_experiment(katib_examples / "metrics-collection-strategy.yaml")
    assert dict(strategies.objective.metric_strategies) == {"loss": "min", "accuracy": "max"}
    enas = load_experiment(katib_examples / "enas-gpu.yaml")
    space = enas.search_space()
    assert space is not None and space.num_operations == 106
    assert enas.parallel_trial_count == 3 and enas.max_failed_trial_count == 3
    median = load_experiment(katib_examples / "median-stop.yaml")
    assert median.early_stopping is not None and median.early_stopping.name == "medianstop"


def test_bundled_example_is_the_manifest(repo_root: Path) -> None:
    packaged = repo_root / "operator" / "katib_enas" / "examples" / "digits.yaml"
    manifest = repo_root / "manifests" / "local" / "digits.yaml"
    assert packaged.read_bytes() == manifest.read_bytes()
    experiment = load_experiment(manifest)
    assert local_problems(experiment) == []
    assert experiment.name == "enas-digits"


def test_cluster_example_is_the_same_search(repo_root: Path) -> None:
    local = yaml.safe_load((repo_root / "manifests/local/digits.yaml").read_text())
    cluster = yaml.safe_load((repo_root / "manifests/local/digits-cluster.yaml").read_text())
    load_experiment(repo_root / "manifests/local/digits-cluster.yaml")
    for key in ("objective", "algorithm", "nasConfig", "maxTrialCount", "parallelTrialCount"):
        assert cluster["spec"][key] == local["spec"][key], key
    image = cluster["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    assert image["containers"][0]["image"] == "ghcr.io/katib-enas/trial-cpu:0.1.0"


def _set(doc: dict[str, Any], path: str, value: object) -> None:
    keys = path.split(".")
    target: Any = doc
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


_DELETE = object()

BROKEN: list[tuple[str, object, str]] = [
    ("apiVersion", "kubeflow.org/v1alpha3", "apiVersion:"),
    ("spec.objective.type", "max", "spec.objective.type: expected minimize or maximize"),
    ("spec.objective.objectiveMetricName", _DELETE, "spec.objective.objectiveMetricName:"),
    ("spec.objective.goal", "high", "spec.objective.goal: expected a number"),
    ("spec.parallelTrialCount", 0, "spec.parallelTrialCount: must be > 0, got 0"),
    ("spec.maxTrialCount", "ten", "spec.maxTrialCount:"),
    ("spec.algorithm.algorithmSettings.0.value", 1, "spec.algorithm.algorithmSettings[0].value"),
    ("spec.nasConfig.graphConfig.numLayers", 0, "spec.nasConfig.graphConfig.numLayers"),
    ("spec.trialTemplate.trialParameters.0.reference", "arch", ".trialParameters[0].reference"),
    ("spec.trialTemplate.primaryContainerName", _DELETE, "primaryContainerName"),
    (
        "spec.paralelTrialCount",
        2,
        "spec.paralelTrialCount: unknown field; did you mean `parallelTrialCount`? (Katib "
        "accepts this, but drops the field without a word)",
    ),
    (
        "spec.metricsCollectorSpec",
        {"collector": {"kind": "File"}, "source": {"fileSystemPath": {"path": "metrics.log"}}},
        "spec.metricsCollectorSpec.source.fileSystemPath.path: the File collector needs an "
        "absolute file path",
    ),
    (
        "spec.metricsCollectorSpec",
        {"source": {"filter": {"metricsFormat": ["([a-z]+)"]}}},
        "metricsFormat[0]: needs two groups",
    ),
    (
        "spec.objective.metricStrategies",
        [{"name": "Validation-Accuracy", "value": "mean"}],
        "spec.objective.metricStrategies[0].value",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), BROKEN)
def test_invalid_experiment_names_the_field(
    example_doc: dict[str, Any], path: str, value: object, message: str
) -> None:
    doc = copy.deepcopy(example_doc)
    _set(doc, path, value)
    with pytest.raises(Exception) as caught:
        experiment_from_dict(doc)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_undeclared_placeholder_is_rejected(example_doc: dict[str, Any]) -> None:
    containers = example_doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    containers["containers"][0]["command"].append("--lr=${trialParameters.learningRate}")
    with pytest.raises(InvalidExperimentError, match=r"trialParameters\.learningRate"):
        experiment_from_dict(example_doc)


def test_validate_command_exit_codes(
    tmp_path: Path,
    katib_enas: Callable[..., subprocess.CompletedProcess[str]],
    example_doc: dict[str, Any],
    repo_root: Path,
) -> None:
    good = katib_enas("validate", repo_root / "manifests/local/digits.yaml", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "valid Experiment 'enas-digits'" in good.stdout
    assert "4 layers x 10 operations" in good.stdout

    example_doc["spec"]["objective"]["type"] = "biggest"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(example_doc), encoding="utf-8")
    result = katib_enas("validate", bad, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "katib-enas validate: error: spec.objective.type: expected minimize or maximize, "
        "got 'biggest'"
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n", encoding="utf-8")
    result = katib_enas("validate", broken, cwd=tmp_path)
    assert result.returncode == 2
    # PyYAML's line, column and reason, in one line.
    assert result.stderr.strip() == (
        f"katib-enas validate: error: {broken}: not valid YAML at line 2, column 1: "
        "expected ',' or ']', but got '<stream end>'"
    )
    no_version = tmp_path / "no-version.yaml"
    no_version.write_text("kind: Experiment\nmetadata: {name: x}\n", encoding="utf-8")
    result = katib_enas("validate", no_version, cwd=tmp_path)
    assert result.stderr.strip() == (
        "katib-enas validate: error: apiVersion: required ('kubeflow.org/v1beta1')"
    )
    bare = tmp_path / "bare.yaml"
    bare.write_text("apiVersion: kubeflow.org/v1beta1\nkind: Experiment\n", encoding="utf-8")
    result = katib_enas("validate", bare, cwd=tmp_path)
    assert result.stderr.strip() == "katib-enas validate: error: metadata, spec: required"
    missing = katib_enas("validate", tmp_path / "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_run_refuses_what_it_cannot_run(
    tmp_path: Path,
    katib_enas: Callable[..., subprocess.CompletedProcess[str]],
    katib_examples: Path,
) -> None:
    result = katib_enas("run", katib_examples / "darts-cpu.yaml", "--run-dir", "r", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot run locally: spec.algorithm.algorithmName" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()
