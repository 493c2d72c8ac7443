"""`katib-enas derive` as a user meets it: after a weight-sharing run (local), and against a
running service through `--suggestion-address` (a cluster's, port-forwarded); bad input is one
line with exit 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from grpc_service import Running, connect
from shared_support import SHARED_DIGITS, children, shared_experiment

from enas_trial.sharing.link import StoreLink
from katib_enas.core.sharing.reference import reference_of

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
Run = Callable[..., subprocess.CompletedProcess[str]]


def _small(tmp_path: Path, trials: int = 4) -> Path:
    doc = yaml.safe_load(SHARED_DIGITS.read_text())
    doc["spec"]["maxTrialCount"] = trials
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _check_ranking(path: Path, retrained: int = 0) -> list[dict[str, object]]:
    document = json.loads(path.read_text())
    assert document["experiment"] == "enas-digits-shared"
    derived = document["derived"]
    # The briefly retrained candidates come first, by that accuracy; then the shared order.
    brief = [d["retrain_validation_accuracy"] for d in derived[:retrained]]
    assert brief == sorted(brief, reverse=True) and all(0 <= b <= 1 for b in brief)
    assert all(d["retrain_validation_accuracy"] is None for d in derived[retrained:])
    accuracies = [d["shared_validation_accuracy"] for d in derived[retrained:]]
    assert accuracies == sorted(accuracies, reverse=True)
    if retrained:
        shared_top = [d["shared_validation_accuracy"] for d in derived[:retrained]]
        assert min(shared_top) >= max(accuracies, default=0.0)
    assert [d["rank"] for d in derived] == list(range(1, len(derived) + 1))
    for item in derived:
        assert reference_of(item["nn_config"]) is None  # retrains from scratch
        assert any(line.startswith("layer 3:") for line in item["layers"])
        assert 0.0 <= item["shared_validation_accuracy"] <= 1.0
    return derived


@pytest.mark.timeout(1200)  # a search, a derive with two brief retrains, then a retrain
def test_derive_ranks_sampled_architectures_after_a_local_run(
    tmp_path: Path, katib_enas: Run
) -> None:
    ran = katib_enas("run", _small(tmp_path), "--run-dir", "run", cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    derived = katib_enas(
        "derive", "run", "-k", "3", "--finetune-steps", "4", "--retrain-top", "2",
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert derived.returncode == 0, derived.stderr[-2000:]
    ranked = _check_ranking(tmp_path / "run" / "derived.json", retrained=min(2, 3))
    assert json.loads((tmp_path / "run" / "derived.json").read_text())["finetune_steps"] == 4
    assert 2 <= len(ranked) <= 3
    assert derived.stderr.count("scored ") == len(ranked)
    assert derived.stderr.count("retrained ") == 2
    assert "(shared weights, 4 fine-tuning steps)" in derived.stdout
    assert "they are not final accuracies" in derived.stdout
    hint = "retrain the best from scratch here: katib-enas retrain run --derived 1"
    assert hint in derived.stdout
    # The printed command, run as printed (one epoch here), trains rank 1 from scratch.
    retrained = katib_enas(*hint.split(": ", 1)[1].split()[1:], "--epochs", "1", cwd=tmp_path)
    assert retrained.returncode == 0, retrained.stderr[-2000:]
    assert "retrained derived-1: 1 epochs" in retrained.stdout
    model = tmp_path / "run" / "retrain" / "derived-1" / "model.pt"
    assert model.is_file()
    command = (model.parent / "trial.log").read_text().splitlines()[0]
    assert f"--architecture={ranked[0]['architecture']} " in command


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    (tmp_path / "state").mkdir()
    running = connect(tmp_path / "state", advertise="127.0.0.1:{port}")
    yield running
    running.channel.close()
    running.server.stop(0)


def test_derive_against_a_running_service(
    tmp_path: Path, katib_enas: Run, service: Running
) -> None:
    [child, _] = children(service, shared_experiment(), 2)  # the service has a controller
    address = f"127.0.0.1:{service.server.port}"
    done = katib_enas(
        "derive", SHARED_DIGITS, "--suggestion-address", address, "-k", "2", "--out", "out",
        "--finetune-steps", "5", "--parallel", "2", cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # Fine-tuning never reaches the store: derive leaves the search's weights as they were.
    status = StoreLink(address, child, 5).pull([]).status
    assert (status.version, status.global_step) == (0, 0)
    [best, *_] = _check_ranking(tmp_path / "out" / "derived.json")
    # On a cluster the retrain is a Job, written beside the ranking, valid for Kubernetes.
    job_file = tmp_path / "out" / "retrain-job.yaml"
    assert f"kubectl apply -f {Path('out', 'retrain-job.yaml')}" in done.stdout
    claim, job = list(yaml.safe_load_all(job_file.read_text()))
    for manifest in (claim, job):
        kubernetes_validate.validate(manifest, "1.34", strict=True)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--architecture={best['architecture']}" in command
    assert f"--nn_config={best['nn_config']}" in command  # no weight sharing in a retrain
    assert "--save-model=/models/derived-1/model.pt" in command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "source: nowhere holds no run"),
        (["run", "-k", "0"], "--count: 0 is not in 1..1000"),
        (["run", "--finetune-steps", "-1"], "--finetune-steps: -1 is not in 0..1000000"),
        (["run", "--retrain-epochs", "0"], "--retrain-epochs: 0 is not in 1..10000"),
        (["run", "--epochs", "3"], "--epochs goes with --emit-job"),
        (["run", "--parallel", "0"], "--parallel: 0 is not in 1..64"),
        ([str(SHARED_DIGITS.with_name("digits.yaml")), "--suggestion-address", "127.0.0.1:1"],
         "source: derive needs a weight-sharing search"),
    ],
    ids=["no-run", "count", "finetune", "retrain-epochs", "epochs", "parallel", "not-sharing"],
)  # fmt: skip
def test_bad_derive_input_is_one_line_and_exit_2(
    tmp_path: Path, katib_enas: Run, args: list[str], message: str
) -> None:
    done = katib_enas("derive", *args, cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("katib-enas derive: error: ") and message in line, line
