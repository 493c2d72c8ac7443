"""`katib-enas validate` and `run` as a user meets them: real processes, real files, a real
suggestion server. Both make the same checks before anything is created (issue 13 item 3)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_service import Running, connect

from katib_enas.local import preflight

Run = Callable[..., subprocess.CompletedProcess[str]]


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _misspelt(doc: dict[str, Any]) -> dict[str, Any]:
    doc["spec"]["algorithm"]["algorithmSettings"].append(
        {"name": "controler_hidden_size", "value": "32"}
    )
    return doc


@pytest.fixture
def suggestion_server() -> Iterator[Running]:
    running = connect()
    yield running
    running.channel.close()
    running.server.server.stop(grace=None).wait()


def _shipped_experiments(repo_root: Path, katib_examples: Path) -> list[Path]:
    # By the documents' kind: a kustomization may name `kind: Experiment` in a selector.
    ours = [
        p
        for p in sorted((repo_root / "manifests").rglob("*.yaml"))
        if any(
            isinstance(doc, dict) and doc.get("kind") == "Experiment"
            for doc in yaml.safe_load_all(p.read_text(encoding="utf-8"))
        )
    ]
    return ours + sorted(katib_examples.glob("*.yaml"))


def test_every_shipped_experiment_validates(repo_root: Path, katib_examples: Path) -> None:
    paths = _shipped_experiments(repo_root, katib_examples)
    assert len(paths) >= 12
    for path in paths:
        preflight.check(path, suggestion_address=None)  # raises on any refusal


def test_validate_says_what_it_leaves_to_the_cluster(
    tmp_path: Path, katib_enas: Run, katib_examples: Path
) -> None:
    result = katib_enas("validate", katib_examples / "darts-cpu.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(algorithm darts, nasConfig, collector StdOut)")
    assert any("not runnable locally: spec.algorithm.algorithmName" in line for line in lines)
    notes = [line.split("left to the cluster: ", 1)[1] for line in lines if "left to" in line]
    assert "spec.algorithm.algorithmName: katib-config has a suggestion for 'darts'" in notes
    assert any(
        n.startswith("spec.algorithm.algorithmSettings: the suggestion service") for n in notes
    )
    assert any("labelled katib.kubeflow.org/metrics-collector-injection" in n for n in notes)


def test_validate_defaults_prints_what_katib_stores(
    tmp_path: Path, katib_enas: Run, example_doc: dict[str, Any]
) -> None:
    spec = example_doc["spec"]
    for key in ("parallelTrialCount", "maxFailedTrialCount", "metricsCollectorSpec"):
        spec.pop(key, None)
    spec["metricsCollectorSpec"] = {"collector": {"kind": "File"}}
    result = katib_enas("validate", "--defaults", _write(tmp_path, example_doc), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stored = yaml.safe_load(result.stdout)
    spec = stored["spec"]
    assert spec["parallelTrialCount"] == 3
    assert spec["resumePolicy"] == "Never"
    assert spec["metricsCollectorSpec"] == {
        "collector": {"kind": "File"},
        "source": {
            "fileSystemPath": {
                "kind": "File",
                "path": "/var/log/katib/metrics.log",
                "format": "TEXT",
            }
        },
    }
    assert spec["objective"]["metricStrategies"] == [
        {"name": "Validation-Accuracy", "value": "max"},
        {"name": "Training-Accuracy", "value": "max"},
        {"name": "Test-Accuracy", "value": "max"},
        {"name": "Parameter-Count", "value": "max"},
    ]
    template = spec["trialTemplate"]
    assert (
        template["successCondition"] == 'status.conditions.#(type=="Complete")#|#(status=="True")#'
    )
    assert template["failureCondition"] == 'status.conditions.#(type=="Failed")#|#(status=="True")#'
    assert "maxFailedTrialCount" not in spec  # no default: the run never fails on failures
    # What Katib stores is itself valid and defaults to itself.
    again = katib_enas(
        "validate", "--defaults", _write(tmp_path, stored, "again.yaml"), cwd=tmp_path
    )
    assert again.returncode == 0 and yaml.safe_load(again.stdout) == stored


def test_validate_refuses_the_default_parallel_count_over_max(
    tmp_path: Path, katib_enas: Run, example_doc: dict[str, Any]
) -> None:
    spec = example_doc["spec"]
    spec["maxTrialCount"] = 2
    spec["maxFailedTrialCount"] = 1
    del spec["parallelTrialCount"]
    result = katib_enas("validate", "--defaults", _write(tmp_path, example_doc), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing is stored when Katib refuses
    assert result.stderr.splitlines() == [
        "katib-enas validate: error: spec.parallelTrialCount: 3 (Katib's default, as it is not "
        "set) is more than spec.maxTrialCount (2)"
    ]


def test_misspelt_setting_is_named_by_validate_and_run_leaves_nothing(
    tmp_path: Path, katib_enas: Run, example_doc: dict[str, Any]
) -> None:
    path = _write(tmp_path, _misspelt(example_doc))
    expected = (
        "spec.algorithm.algorithmSettings[1].name: unknown setting 'controler_hidden_size'; "
        "did you mean `controller_hidden_size`? (the suggestion service refuses it in "
        "ValidateAlgorithmSettings, and Katib then fails the Experiment before its first trial)"
    )
    checked = katib_enas("validate", path, cwd=tmp_path)
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [f"katib-enas validate: error: {expected}"]
    default_dir = katib_enas("run", path, cwd=tmp_path)
    assert default_dir.returncode == 2
    assert default_dir.stderr.splitlines() == [f"katib-enas run: error: {expected}"]
    given_dir = katib_enas("run", path, "--run-dir", "r", cwd=tmp_path)
    assert given_dir.returncode == 2
    assert not (tmp_path / "runs").exists() and not (tmp_path / "r").exists()


def test_setting_out_of_range_names_its_value(
    tmp_path: Path, katib_enas: Run, example_doc: dict[str, Any]
) -> None:
    example_doc["spec"]["algorithm"]["algorithmSettings"].append(
        {"name": "controller_learning_rate", "value": "2"}
    )
    path = _write(tmp_path, example_doc)
    result = katib_enas("run", path, "--run-dir", "r", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: spec.algorithm.algorithmSettings[1].value: '2' is out of range" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_remote_refusal_leaves_no_run_directory(
    tmp_path: Path,
    katib_enas: Run,
    example_doc: dict[str, Any],
    suggestion_server: Running,
) -> None:
    """With --suggestion-address, that service's ValidateAlgorithmSettings decides, first."""
    address = f"127.0.0.1:{suggestion_server.server.port}"
    path = _write(tmp_path, _misspelt(example_doc))
    for command in (("validate", path), ("run", path, "--run-dir", "r")):
        result = katib_enas(*command, "--suggestion-address", address, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert (
            f"error: spec.algorithm: the suggestion service at {address} refuses the Experiment "
            "in ValidateAlgorithmSettings: algorithmSettings: unknown setting "
            "'controler_hidden_size'"
        ) in result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "runs").exists()


def test_remote_service_without_validation_counts_as_valid(
    tmp_path: Path, katib_enas: Run, example_doc: dict[str, Any]
) -> None:
    """UNIMPLEMENTED is valid to Katib; a service that cannot be reached is an error."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        path = _write(tmp_path, _misspelt(example_doc))
        result = katib_enas(
            "validate", path, "--suggestion-address", f"127.0.0.1:{port}", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert "valid Experiment 'enas-digits'" in result.stdout
    finally:
        server.stop(grace=None).wait()
    gone = katib_enas("run", path, "--suggestion-address", f"127.0.0.1:{port}", cwd=tmp_path)
    assert gone.returncode == 2
    assert f"--suggestion-address 127.0.0.1:{port}: ValidateAlgorithmSettings failed" in gone.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda spec: spec["algorithm"]["algorithmSettings"][1].__setitem__("value", "0"),
            "spec.algorithm.algorithmSettings[1].value: '0' is out of range",
        ),
        (
            lambda spec: spec["nasConfig"]["operations"][0]["parameters"][0][
                "feasibleSpace"
            ].__setitem__("list", ["3", "4"]),
            "spec.nasConfig.operations[0].filter_size: '4' must be odd",
        ),
        (
            lambda spec: spec["nasConfig"]["graphConfig"].__setitem__("inputSizes", [64]),
            "spec.nasConfig.graphConfig.inputSizes: the micro space builds image networks",
        ),
    ],
    ids=["zero-nodes", "even-window", "flat-input"],
)
def test_bad_micro_experiments_are_named_by_validate_and_run_creates_nothing(
    tmp_path: Path, katib_enas: Run, repo_root: Path, change: Any, expected: str
) -> None:
    doc = yaml.safe_load((repo_root / "manifests/local/digits-micro.yaml").read_text())
    change(doc["spec"])
    path = _write(tmp_path, doc)
    checked = katib_enas("validate", path, cwd=tmp_path)
    assert checked.returncode == 2
    [line] = checked.stderr.splitlines()
    assert line.startswith(f"katib-enas validate: error: {expected}"), line
    refused = katib_enas("run", path, "--run-dir", "r", cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert not (tmp_path / "r").exists()
