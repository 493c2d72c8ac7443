"""`katib-enas results EXPERIMENT -n NS` against a real HTTPS server on 127.0.0.1 that answers
the Kubernetes API's paths with Katib Experiment and Trial objects (checked against Katib's
OpenAPI spec): the real `kubernetes` client reads them through a kubeconfig, and the files
are the ones a local run gets. `--emit-job` writes a retrain Job valid for Kubernetes 1.34."""

from __future__ import annotations

import copy
import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import torch
import yaml
from analysis_support import Command, one_error_line
from katib_openapi import schema_checker
from kube_standin import ApiState, kube_api, kubeconfig

from katib_enas.core.katib import from_katib_json, to_katib_json
from katib_enas.experiment import load_experiment

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO_ROOT / "manifests" / "experiments" / "enas-cpu-smoke.yaml"
NS, NAME = "katib-enas", "enas-cpu-smoke"
ALLOWED = {("get", "experiments"), ("list", "trials")}
TIME = "2026-03-01T10:{:02d}:00Z"


def _condition(kind: str, status: str, reason: str, message: str, minute: int) -> dict[str, Any]:
    when = TIME.format(minute)
    return {
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": when, "lastTransitionTime": when,
    }  # fmt: skip


def katib_objects() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Experiment as Katib stores it after three succeeded trials and one failed one."""
    experiment = yaml.safe_load(EXPERIMENT.read_text())
    experiment["metadata"].update(
        uid="0b5c", resourceVersion="42", creationTimestamp=TIME.format(0)
    )
    experiment["status"] = {
        "startTime": TIME.format(0),
        "completionTime": TIME.format(9),
        "conditions": [
            _condition("Created", "True", "ExperimentCreated", "Experiment is created", 0),
            _condition("Running", "False", "ExperimentRunning", "Experiment is running", 9),
            _condition(
                "Succeeded", "True", "ExperimentMaxTrialsReached",
                "Experiment has succeeded because max trial count has reached", 9,
            ),
        ],
        "trials": 4, "trialsSucceeded": 3, "trialsFailed": 1,
    }  # fmt: skip
    space = load_experiment(EXPERIMENT).search_space()
    assert space is not None
    generator = torch.Generator().manual_seed(7)
    outcomes = [("Succeeded", 0.91), ("Failed", None), ("Succeeded", 0.97), ("Succeeded", 0.95)]
    trials = []
    for index, (kind, value) in enumerate(outcomes):
        assignments = space.encode(space.sample_uniform(generator))
        if index == 2:  # the best: from a weight-sharing search, as issue 9's service makes them
            config = from_katib_json(assignments["nn_config"])
            assert isinstance(config, dict)
            config["shared"] = {"address": "enas:6790", "experiment": NAME, "slice_steps": 50}
            assignments["nn_config"] = to_katib_json(config)
        conditions = [_condition("Created", "True", "TrialCreated", "Trial is created", index)]
        conditions.append(_condition("Running", "False", "TrialRunning", "", index + 1))
        if kind == "Succeeded":
            conditions.append(
                _condition(kind, "True", "TrialSucceeded", "Trial has succeeded", index + 1)
            )
        else:
            conditions.append(
                _condition(
                    "Failed", "True", "TrialFailed. Job reason: BackoffLimitExceeded",
                    "Trial has failed. Job message: Job has reached the specified backoff limit",
                    index + 1,
                )
            )  # fmt: skip
        metrics = []
        if value is not None:
            metrics = [
                {"name": "Validation-Accuracy", "min": "0.5", "max": f"{value}",
                 "latest": f"{value}"},
                {"name": "Test-Accuracy", "min": "0.9", "max": "0.9", "latest": "0.9"},
                {"name": "Parameter-Count", "min": "4242", "max": "4242", "latest": "4242"},
            ]  # fmt: skip
        trials.append(
            {
                "apiVersion": "kubeflow.org/v1beta1",
                "kind": "Trial",
                "metadata": {
                    "name": f"{NAME}-{'bcdfghjk'[index] * 8}",
                    "namespace": NS,
                    "labels": {"katib.kubeflow.org/experiment": NAME},
                    "creationTimestamp": TIME.format(index),
                },
                "spec": {
                    "objective": experiment["spec"]["objective"],
                    "parameterAssignments": [
                        {"name": k, "value": v} for k, v in assignments.items()
                    ],
                    "primaryContainerName": "training-container",
                    "metricsCollector": {"collector": {"kind": "StdOut"}},
                },
                "status": {
                    "startTime": TIME.format(index),
                    "completionTime": TIME.format(index + 1),
                    "conditions": conditions,
                    "observation": {"metrics": metrics},
                },
            }
        )
    # One trial of another experiment in the namespace: not ours to show.
    other = copy.deepcopy(trials[0])
    other["metadata"].update(name="other-zzzzzzzz", labels={"katib.kubeflow.org/experiment": "x"})
    return experiment, [*trials, other]


@pytest.fixture
def cluster(tmp_path: Path) -> Any:
    experiment, trials = katib_objects()
    state = ApiState(token="t0ken", allowed=set(ALLOWED))
    state.custom[(NS, "experiments")] = [experiment]
    state.custom[(NS, "trials")] = trials
    with kube_api(tmp_path / "api", state, NS) as standin:
        yield standin, kubeconfig(standin, tmp_path / "kubeconfig")


def test_the_served_objects_are_valid_katib_objects(katib_dir: Path) -> None:
    errors = schema_checker(katib_dir)
    experiment, trials = katib_objects()
    assert errors("v1beta1.Experiment", experiment) == []
    for trial in trials:
        assert errors(".v1beta1.Trial", trial) == []


def test_results_writes_the_files_of_a_local_run_and_a_valid_retrain_job(
    cluster: Any, katib_enas: Command, tmp_path: Path
) -> None:
    standin, config = cluster
    out, job_file = tmp_path / "out", tmp_path / "retrain.yaml"
    result = katib_enas(
        "results", NAME, "-n", NS, "--kubeconfig", config, "--out", out, "--emit-job", job_file
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("trials.csv", "trials.json", "report.html", "best-architecture.svg"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader(io.StringIO((out / "trials.csv").read_text())))
    assert [r["condition"] for r in rows] == ["Succeeded", "Failed", "Succeeded", "Succeeded"]
    assert [r["objective"] for r in rows] == ["0.91", "", "0.97", "0.95"]
    assert rows[1]["message"].startswith("Trial has failed. Job message:")
    assert rows[2]["Parameter-Count"] == "4242" and rows[2]["seconds"] == "60"
    best = json.loads((out / "trials.json").read_text())["best_trial"]
    assert best == rows[2]["name"]
    page = (out / "report.html").read_text()
    assert f"cluster {NS}/{NAME}" in page and "katib_enas_latest_reward" in page
    # The smoke Experiment uses StdOut: a trial's log is in the metrics sidecar.
    assert f"kubectl -n {NS} logs &lt;trial pod&gt; -c metrics-logger-and-collector" in page
    # What the client asked: one GET, one LIST by label, nothing written.
    assert {(m, p.split("?")[0]) for m, p, _ in standin.state.requests} == {
        ("GET", f"/apis/kubeflow.org/v1beta1/namespaces/{NS}/experiments/{NAME}"),
        ("GET", f"/apis/kubeflow.org/v1beta1/namespaces/{NS}/trials"),
    }
    claim, job = list(yaml.safe_load_all(job_file.read_text()))
    for manifest in (claim, job):
        kubernetes_validate.validate(manifest, "1.34", strict=True)
    assert job["kind"] == "Job" and claim["kind"] == "PersistentVolumeClaim"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/katib-enas/trial-cpu:0.1.0"
    command = container["command"]
    assert command[0] == "enas-trial" and "--num_epochs=1" in command  # the search's schedule
    assert f"--save-model=/models/{best}/model.pt" in command
    nn_config = next(w for w in command if w.startswith("--nn_config="))
    assert "shared" not in nn_config and "'embedding'" in nn_config
    assert {"name": "model", "mountPath": "/models"} in container["volumeMounts"]
    assert {"name": "model", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}} in (
        pod["volumes"]
    )
    assert f"kubectl apply -f {job_file}" in result.stdout


@pytest.mark.parametrize(
    ("args", "allowed", "message"),
    [
        (["nope"], ALLOWED, "experiment 'nope' not found in namespace 'katib-enas'"),
        ([NAME], {("get", "experiments")}, "the Kubernetes API answered 403 Forbidden"),
        ([NAME, "--trial", "x"], ALLOWED, "--trial, --within and --epochs go with --emit-job"),
        ([NAME, "--top", "0"], ALLOWED, "--top: must be at least 1"),
    ],
)
def test_results_refuses_with_one_line(  # noqa: PLR0917
    args: list[str],
    allowed: set[tuple[str, str]],
    message: str,
    cluster: Any,
    katib_enas: Command,
    tmp_path: Path,
) -> None:
    standin, config = cluster
    standin.state.allowed.clear()
    standin.state.allowed.update(allowed)
    result = katib_enas("results", *args, "-n", NS, "--kubeconfig", config, cwd=tmp_path)
    assert message in one_error_line(result, "results")


def test_results_without_a_cluster_says_why(katib_enas: Command, tmp_path: Path) -> None:
    empty = {"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    nothing = katib_enas("results", NAME, "-n", NS, env=empty, cwd=tmp_path)
    assert "no Kubernetes configuration" in one_error_line(nothing, "results")
    bad = katib_enas("results", NAME, "-n", NS, "--kubeconfig", tmp_path / "x", cwd=tmp_path)
    assert "--kubeconfig: cannot use it" in one_error_line(bad, "results")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }  # fmt: skip
    (tmp_path / "closed").write_text(yaml.safe_dump(config))
    closed = katib_enas(
        "results", NAME, "-n", NS, "--kubeconfig", tmp_path / "closed", cwd=tmp_path
    )
    line = one_error_line(closed, "results")
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}: " in line
    assert line.endswith("Connection refused")


def test_results_draws_per_epoch_curves_from_katibs_db_manager(
    cluster: Any, katib_enas: Command, tmp_path: Path
) -> None:
    """Katib's DB manager played by ours (a real gRPC server over a store holding the trials'
    observation logs), as `kubectl port-forward svc/katib-db-manager 6789` would expose it."""
    from concurrent import futures

    import grpc

    from katib_enas.experiment.metric_logs import MetricLog
    from katib_enas.katib_api import pb_grpc
    from katib_enas.local.dbmanager import DBManager
    from katib_enas.local.store import Store

    _, config = cluster
    _, trials = katib_objects()
    names = [t["metadata"]["name"] for t in trials[:4]]
    store = Store(tmp_path / "katib.db")
    epochs = {names[0]: ["0.5", "0.8", "0.91"], names[2]: ["0.6", "0.9", "0.97"]}
    for name, values in epochs.items():
        store.add_logs(
            name,
            [MetricLog(TIME.format(i), "Validation-Accuracy", v) for i, v in enumerate(values)]
            + [MetricLog(TIME.format(5), "Training-Accuracy", "0.99")],  # another metric
        )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_DBManagerServicer_to_server(DBManager(store), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        out = tmp_path / "out"
        args = ("results", NAME, "-n", NS, "--kubeconfig", config, "--out", out)
        result = katib_enas(*args, "--db-manager", f"127.0.0.1:{port}")
        assert result.returncode == 0, result.stderr[-3000:]
        page = (out / "report.html").read_text()
        curves = page.split('<section id="curves">', 1)[1].split("</section>", 1)[0]
        assert f"#1 {names[2]}" in curves and names[0] in curves
        assert "[0.6,0.9,0.97]" in curves.replace(" ", "")
    finally:
        server.stop(None)
        store.close()
    refused = katib_enas(*args, "--db-manager", "127.0.0.1:1")
    line = one_error_line(refused, "results")
    assert "--db-manager 127.0.0.1:1: cannot read the observation log of" in line
    assert "UNAVAILABLE" in line
