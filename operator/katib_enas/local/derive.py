"""ENAS's derive step: sample architectures from the trained controller, score each with the
trained shared weights on the whole validation split, rank them.

Scores come from a real trial process (`enas-trial --evaluate-shared`, the Experiment's own trial
command, so data and flags are the search's): it pulls the child's tensors, recomputes BatchNorm
statistics and evaluates, without training or pushing. A shared-weight score ranks candidates;
it is not a final accuracy: retrain the chosen one from scratch.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc

from katib_enas.atomic import write_atomic
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.core.spaces import ARCHITECTURE, NN_CONFIG, describe
from katib_enas.local.experiment import Experiment
from katib_enas.local.launch import container_argv, container_env, map_local
from katib_enas.local.rundir import DERIVED_FILE, RunError
from katib_enas.local.substitution import primary_container, render_trial_spec
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

log = logging.getLogger(__name__)

EVALUATION_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Derived:
    rank: int
    architecture: str
    nn_config: str  # without the store reference: what a from-scratch retrain takes
    shared_validation_accuracy: float
    layers: list[str]


def sample(address: str, experiment: str, count: int) -> list[sw.Child]:
    """`count` children from the service's trained controller, duplicates dropped."""
    channel = grpc.insecure_channel(address)
    try:
        reply = sw_grpc.SharedWeightsStub(channel).Sample(
            sw.SampleRequest(experiment=experiment, count=count), timeout=60
        )
    except grpc.RpcError as error:
        raise RunError(f"Sample from {address}: {error.code().name}: {error.details()}") from None
    finally:
        channel.close()
    unique: dict[str, sw.Child] = {}
    for child in reply.children:
        unique.setdefault(child.architecture, child)
    return list(unique.values())


def score(experiment: Experiment, child: sw.Child, store_address: str, work_dir: Path) -> float:
    """The child's validation accuracy with the shared weights (a real trial process)."""
    assignments = {ARCHITECTURE: child.architecture, NN_CONFIG: child.nn_config}
    manifest = render_trial_spec(
        experiment.trial_template, assignments, trial_name="derive", namespace=experiment.namespace
    )
    container = primary_container(manifest, experiment.trial_template.primary_container_name)
    summary = work_dir / "summary.json"
    argv = [
        *map_local(container_argv(container)),
        "--evaluate-shared",
        f"--shared-weights={store_address}",
        f"--summary-file={summary}",
    ]
    env = {**container_env(container), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        argv,
        cwd=work_dir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=EVALUATION_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not summary.is_file():
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RunError(f"scoring a derived architecture failed: {last}")
    return float(json.loads(summary.read_text())["final_validation_accuracy"])


def derive(
    experiment: Experiment,
    address: str,
    count: int,
    out_dir: Path,
    progress: Callable[[int, int, float], None],
) -> list[Derived]:
    """Sample, score and rank; writes `out_dir/derived.json`."""
    children = sample(address, experiment.name, count)
    scored: list[tuple[float, sw.Child]] = []
    with tempfile.TemporaryDirectory(prefix="derive-") as tmp:
        for number, child in enumerate(children, 1):
            accuracy = score(experiment, child, address, Path(tmp))
            progress(number, len(children), accuracy)
            scored.append((accuracy, child))
    scored.sort(key=lambda pair: -pair[0])
    ranked = [
        Derived(
            rank=rank,
            architecture=child.architecture,
            nn_config=strip_sharing(child.nn_config),
            shared_validation_accuracy=accuracy,
            layers=describe({ARCHITECTURE: child.architecture, NN_CONFIG: child.nn_config}),
        )
        for rank, (accuracy, child) in enumerate(scored, 1)
    ]
    write_derived(out_dir, experiment.name, ranked)
    return ranked


def write_derived(out_dir: Path, experiment: str, ranked: Sequence[Derived]) -> None:
    document = {"experiment": experiment, "derived": [asdict(d) for d in ranked]}
    write_atomic(out_dir / DERIVED_FILE, json.dumps(document, indent=2) + "\n")
