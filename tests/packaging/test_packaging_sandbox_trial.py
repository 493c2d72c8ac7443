"""The CPU trial container as a Katib trial pod runs it, for every shipped Experiment that uses it.

The trial spec is rendered from the Experiment with a real suggestion (Katib's template
substitution), then the primary container is rewritten as Katib's pod webhook does for the StdOut
collector (`katib_pods.katib_wrap`), with its metrics emptyDir at /var/log/katib. It runs in the
pod sandbox with the pod's securityContext, the image's environment and a read-only root; the
template's own volumes are the only other writable paths. Only `--num_epochs` is cut to 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import katib_pods
import pod_sandbox
import pytest
import yaml
from grpc_service import Running, assignments_of, connect

from katib_enas.core.katib import is_rfc3339
from katib_enas.experiment import load_experiment
from katib_enas.experiment.metric_logs import DEFAULT_FILTER, parse_text
from katib_enas.experiment.substitution import render_trial_spec
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pod_sandbox_ready")]
CPU_IMAGE = "ghcr.io/katib-enas/trial-cpu:"
LOCAL_ONLY = {"digits.yaml"}  # `katib-enas run`'s default; digits-cluster.yaml is its cluster twin


def _cpu_experiments() -> list[Path]:
    found = []
    for path in sorted((katib_pods.REPO_ROOT / "manifests").rglob("*.yaml")):
        if path.name in LOCAL_ONLY:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Experiment" and CPU_IMAGE in str(doc):
                found.append(path)
    return found


@pytest.fixture(scope="module")
def service() -> Iterator[Running]:
    # Weight-sharing trials reach the store here: the sandbox shares the host's network.
    running = connect(advertise="127.0.0.1:{port}")
    yield running
    running.channel.close()
    running.server.stop(0)


@pytest.mark.parametrize("uid", [None, pod_sandbox.OPENSHIFT_UID], ids=["pod-uid", "openshift"])
@pytest.mark.parametrize("path", _cpu_experiments(), ids=lambda p: p.name)
def test_trial_runs_on_a_read_only_root_and_writes_only_katibs_metrics_volume(
    path: Path, uid: int | None, service: Running, tmp_path: Path
) -> None:
    experiment = load_experiment(path)
    assert experiment.metrics_collector.kind == "StdOut", path
    request = pb.GetSuggestionsRequest(
        experiment=experiment_message(experiment), current_request_number=1, total_request_number=1
    )
    [assignments] = assignments_of(service.suggestion.GetSuggestions(request, timeout=60))
    spec = render_trial_spec(
        experiment.trial_template, assignments, trial_name="trial-1", namespace="katib-enas"
    )
    primary = experiment.trial_template.primary_container_name
    pod, container = katib_pods.trial_pod(spec, primary, tmp_path, uid=uid, epochs=1)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True, path
    result = pod_sandbox.run(pod, tmp_path / "stage", timeout=300)
    metrics = tmp_path / "katib-metrics"
    log = (metrics / "metrics.log").read_text()
    assert result.returncode == 0, result.stdout + log
    [pid_file] = [p for p in metrics.iterdir() if p.name != "metrics.log"]
    assert re.fullmatch(r"\d+\.pid", pid_file.name), pid_file
    assert pid_file.read_text() == "completed\n"
    values = parse_text(log.splitlines(), ["Validation-Accuracy"], [DEFAULT_FILTER])
    assert len(values) == 1, log
    assert is_rfc3339(values[0].timestamp) and 0.0 <= float(values[0].value) <= 1.0
    assert "enas-trial: error" not in log and "Traceback" not in log, log


def test_every_cpu_experiment_is_covered() -> None:
    names = {p.name for p in _cpu_experiments()}
    assert {"enas-cpu-smoke.yaml", "digits-cluster.yaml"} <= names
