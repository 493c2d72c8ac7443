"""The suggestion container as Katib runs it: read-only root, non-root UID in group 0, nothing
writable but (under `resumePolicy: FromVolume`) the experiment's volume at `/opt/katib/data`.

The pod is the chart's katib-config entry as Katib's composer makes it (`katib_pods`), in the pod
sandbox. It is driven as Katib drives it: readiness probe, ValidateAlgorithmSettings,
GetSuggestions rounds that learn, then a restart that resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import katib_pods
import pod_sandbox
import pytest
from grpc_service import assignments_of, katib_trial

from katib_enas.experiment import load_experiment
from katib_enas.katib_api import pb
from katib_enas.local.requests import experiment_message

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pod_sandbox_ready")]
ACC = "Validation-Accuracy"
UIDS = {"uid-1000": 1000, "openshift-uid": pod_sandbox.OPENSHIFT_UID}


@pytest.fixture(scope="module")
def experiment(repo_root: Path) -> Any:
    return experiment_message(load_experiment(repo_root / "manifests/local/digits-cluster.yaml"))


@pytest.fixture(scope="module")
def entry(render: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
    """The suggestion container the chart registers (the default values)."""
    [configmap] = [
        m
        for m in render()
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-registration")
    ]
    [first] = json.loads(configmap["data"]["entries.json"])
    return dict(first)


def _rounds(
    service: katib_pods.Suggestion, experiment: Any, trials: list[Any], rounds: int
) -> list[dict[str, str]]:
    """`rounds` GetSuggestions calls, each after two more trials finished; the last reply."""
    suggested: list[dict[str, str]] = []
    for _ in range(rounds):
        reply = service.stub.GetSuggestions(
            pb.GetSuggestionsRequest(
                experiment=experiment,
                trials=trials,
                current_request_number=2,
                total_request_number=len(trials) + 2,
            ),
            timeout=60,
        )
        suggested = assignments_of(reply)
        assert len(suggested) == 2
        for assignments in suggested:
            number = len(trials)
            trials.append(
                katib_trial(
                    experiment,
                    f"trial-{number:03d}",
                    assignments,
                    metrics={ACC: str(0.5 + 0.01 * (number % 37))},
                    completion_time=f"2026-11-29T10:{number // 60:02d}:{number % 60:02d}Z",
                )
            )
    return suggested


def test_the_registered_entry_keeps_a_read_only_root(entry: dict[str, Any]) -> None:
    context = entry["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True and context["runAsGroup"] == 0
    assert entry["volumeMountPath"] == "/opt/katib/data"


@pytest.mark.parametrize("uid", list(UIDS.values()), ids=list(UIDS))
def test_learns_and_restarts_with_nothing_writable(
    uid: int, entry: dict[str, Any], experiment: Any, tmp_path: Path
) -> None:
    """No FromVolume: every write would fail; a restart rebuilds the state from the history."""
    trials: list[Any] = []
    with katib_pods.serve(entry, tmp_path / "pod-1", uid=uid) as first:
        first.stub.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=30
        )
        _rounds(first, experiment, trials, 4)
        # 6 trials learned: one update of the default batch of 4, two trials pending
        assert first.metric("katib_enas_controller_updates_total") == 1.0
        # The entry's downward-API env gives the metrics the container's 1Gi limit.
        assert first.metric("katib_enas_memory_limit_bytes") == float(1 << 30)
        before = _rounds(first, experiment, list(trials), 1)
    logs = first.logs()
    assert "Traceback" not in logs and "INTERNAL" not in logs, logs
    with katib_pods.serve(entry, tmp_path / "pod-2", uid=uid) as second:
        after = _rounds(second, experiment, list(trials), 1)
    assert after == before  # rebuilt from the history: the same controller as the lost one
    assert "learned from 8 trials (2 policy updates, replayed)" in second.logs()


@pytest.mark.parametrize("uid", list(UIDS.values()), ids=list(UIDS))
def test_checkpoints_to_the_volume_and_resumes_from_it(
    uid: int, entry: dict[str, Any], experiment: Any, tmp_path: Path
) -> None:
    """FromVolume: the checkpoint is the only write; a restarted pod resumes without relearning."""
    volume = tmp_path / "experiment-volume"
    volume.mkdir()
    volume.chmod(0o2775)  # the PVC as a pod in group 0 gets it (fsGroup 0)
    trials: list[Any] = []
    with katib_pods.serve(entry, tmp_path / "pod-1", uid=uid, volume=volume) as first:
        _rounds(first, experiment, trials, 3)
        before = _rounds(first, experiment, list(trials), 1)
    assert "Traceback" not in first.logs()
    written = sorted(str(p.relative_to(volume)) for p in volume.rglob("*"))
    assert written == ["enas-digits", "enas-digits/enas-state.pt"]
    with katib_pods.serve(entry, tmp_path / "pod-2", uid=uid, volume=volume) as second:
        after = _rounds(second, experiment, list(trials), 1)
        assert second.metric("katib_enas_controller_updates_total") == 0.0  # nothing relearned
    logs = second.logs()
    assert after == before
    assert "resumed from /opt/katib/data/enas-digits/enas-state.pt (6 trials learned)" in logs
    assert "learned from" not in logs


def test_a_full_volume_is_logged_and_the_service_keeps_answering(
    entry: dict[str, Any], experiment: Any, tmp_path: Path
) -> None:
    """A FromVolume PVC that is full: every checkpoint write fails, no call does."""
    full = pod_sandbox.Volume(entry["volumeMountPath"], tmpfs_size="16k")  # < one checkpoint
    trials: list[Any] = []
    with katib_pods.serve(entry, tmp_path / "pod", volume=full) as service:
        _rounds(service, experiment, trials, 4)
        assert service.metric("katib_enas_controller_updates_total") == 1.0
    logs = service.logs()
    assert "checkpoint /opt/katib/data/enas-digits/enas-state.pt not written: No space left" in logs
    assert "Traceback" not in logs
