"""`katib-enas derive` as a user meets it: after a weight-sharing run (local), and against a
running service through `--suggestion-address` (a cluster's, port-forwarded); bad input is one
line with exit 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from grpc_service import Running, connect
from shared_support import SHARED_DIGITS, children, shared_experiment

from katib_enas.core.sharing.reference import reference_of

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
Run = Callable[..., subprocess.CompletedProcess[str]]


def _small(tmp_path: Path, trials: int = 4) -> Path:
    doc = yaml.safe_load(SHARED_DIGITS.read_text())
    doc["spec"]["maxTrialCount"] = trials
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _check_ranking(path: Path) -> list[dict[str, object]]:
    document = json.loads(path.read_text())
    assert document["experiment"] == "enas-digits-shared"
    derived = document["derived"]
    accuracies = [d["shared_validation_accuracy"] for d in derived]
    assert accuracies == sorted(accuracies, reverse=True)
    assert [d["rank"] for d in derived] == list(range(1, len(derived) + 1))
    for item in derived:
        assert reference_of(item["nn_config"]) is None  # retrains from scratch
        assert any(line.startswith("layer 3:") for line in item["layers"])
        assert 0.0 <= item["shared_validation_accuracy"] <= 1.0
    return derived


def test_derive_ranks_sampled_architectures_after_a_local_run(
    tmp_path: Path, katib_enas: Run
) -> None:
    ran = katib_enas("run", _small(tmp_path), "--run-dir", "run", cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    derived = katib_enas("derive", "run", "-k", "3", cwd=tmp_path, timeout=600)
    assert derived.returncode == 0, derived.stderr[-2000:]
    ranked = _check_ranking(tmp_path / "run" / "derived.json")
    assert 1 <= len(ranked) <= 3
    assert derived.stderr.count("scored ") == len(ranked)
    assert "retrain the best from scratch: katib-enas retrain run --derived 1" in derived.stdout


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
    children(service, shared_experiment(), 2)  # Katib has asked: the service has a controller
    address = f"127.0.0.1:{service.server.port}"
    done = katib_enas(
        "derive", SHARED_DIGITS, "--suggestion-address", address, "-k", "2", "--out", "out",
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    _check_ranking(tmp_path / "out" / "derived.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "source: nowhere holds no run"),
        (["run", "-k", "0"], "--count: 0 is not in 1..1000"),
        ([str(SHARED_DIGITS.with_name("digits.yaml")), "--suggestion-address", "127.0.0.1:1"],
         "source: derive needs a weight-sharing search"),
    ],
    ids=["no-run", "count", "not-sharing"],
)  # fmt: skip
def test_bad_derive_input_is_one_line_and_exit_2(
    tmp_path: Path, katib_enas: Run, args: list[str], message: str
) -> None:
    done = katib_enas("derive", *args, cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("katib-enas derive: error: ") and message in line, line
