"""ENAS's derive step: sample architectures from the trained controller, score each with the
trained shared weights on the whole validation split, rank them; optionally retrain the best few
briefly from scratch and keep the best of those.

Scores come from a real trial process (`enas-trial --evaluate-shared`, the Experiment's own trial
command, so data and flags are the search's): it pulls the child's tensors, fine-tunes them for
`finetune_steps` steps (never pushed: the store stays as the search left it), recomputes
BatchNorm statistics and evaluates. Fine-tuned scores rank children far better than zero-shot
ones (the README's Weight sharing section has the figures). A shared-weight score ranks
candidates; it is not a final accuracy: retrain the chosen one from scratch.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import grpc

from katib_enas.atomic import write_atomic
from katib_enas.core.sharing.reference import strip_sharing
from katib_enas.core.spaces import ARCHITECTURE, NN_CONFIG, describe
from katib_enas.experiment import Experiment
from katib_enas.experiment.substitution import primary_container, render_trial_spec
from katib_enas.local.launch import container_argv, container_env, map_local
from katib_enas.local.rundir import DERIVED_FILE, RunError
from katib_enas.v1 import shared_weights_pb2 as sw
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

log = logging.getLogger(__name__)

EVALUATION_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Derived:
    rank: int
    architecture: str
    nn_config: str  # without the store reference: what a from-scratch retrain takes
    shared_validation_accuracy: float  # after `finetune_steps` steps from the shared weights
    layers: list[str]
    # With `retrain_top`: the validation accuracy of a brief retrain from scratch (the top
    # candidates are ranked by it, the rest keep their shared-weight order after them).
    retrain_validation_accuracy: float | None = None


@dataclass(frozen=True)
class DeriveOptions:
    count: int  # architectures sampled from the controller
    finetune_steps: int
    retrain_top: int = 0  # 0: no brief retrain
    retrain_epochs: int = 1
    parallel: int = 1  # candidates scored at once (each a trial process)


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


def score(
    experiment: Experiment,
    child: sw.Child,
    store_address: str,
    work_dir: Path,
    finetune_steps: int,
) -> float:
    """The child's validation accuracy with the shared weights after `finetune_steps` steps of
    fine-tuning that are not pushed (a real trial process)."""
    return _trial(
        experiment,
        {ARCHITECTURE: child.architecture, NN_CONFIG: child.nn_config},
        work_dir,
        [
            "--evaluate-shared",
            f"--finetune-steps={finetune_steps}",
            f"--shared-weights={store_address}",
        ],
    )


def brief_retrain(experiment: Experiment, derived: Derived, epochs: int, work_dir: Path) -> float:
    """Best validation accuracy of the candidate trained from scratch for `epochs` epochs."""
    assignments = {ARCHITECTURE: derived.architecture, NN_CONFIG: derived.nn_config}
    # The trial's own epochs flag is replaced: argparse keeps the last one given.
    return _trial(experiment, assignments, work_dir, [f"--num_epochs={epochs}"], "best")


def _trial(
    experiment: Experiment,
    assignments: dict[str, str],
    work_dir: Path,
    extra: Sequence[str],
    which: str = "final",
) -> float:
    """Run the Experiment's trial command on `assignments` with `extra` flags; the validation
    accuracy it summarises (`final` or `best`)."""
    manifest = render_trial_spec(
        experiment.trial_template, assignments, trial_name="derive", namespace=experiment.namespace
    )
    container = primary_container(manifest, experiment.trial_template.primary_container_name)
    summary = work_dir / "summary.json"
    summary.unlink(missing_ok=True)
    argv = [*map_local(container_argv(container)), *extra, f"--summary-file={summary}"]
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
    return float(json.loads(summary.read_text())[f"{which}_validation_accuracy"])


def derive(
    experiment: Experiment,
    address: str,
    options: DeriveOptions,
    out_dir: Path,
    progress: Callable[[str], None],
) -> list[Derived]:
    """Sample, score and rank (then, with `retrain_top`, retrain the best few briefly and
    rank those first by that); writes `out_dir/derived.json`."""
    children = sample(address, experiment.name, options.count)
    with tempfile.TemporaryDirectory(prefix="derive-") as tmp:
        scored = _score_all(
            experiment, children, address, Path(tmp), options=options, progress=progress
        )
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
        if options.retrain_top:
            ranked = _retrain_top(experiment, ranked, options, Path(tmp), progress)
    write_derived(out_dir, experiment.name, ranked, options)
    return ranked


def _score_all(
    experiment: Experiment,
    children: Sequence[sw.Child],
    address: str,
    work_dir: Path,
    *,
    options: DeriveOptions,
    progress: Callable[[str], None],
) -> list[tuple[float, sw.Child]]:
    """Every child's score, `options.parallel` trial processes at a time, in sample order."""

    def one(number: int) -> float:
        folder = work_dir / f"candidate-{number}"
        folder.mkdir()
        return score(experiment, children[number], address, folder, options.finetune_steps)

    accuracies: dict[int, float] = {}
    with ThreadPoolExecutor(max(1, options.parallel)) as pool:
        pending = {pool.submit(one, number): number for number in range(len(children))}
        for future in as_completed(pending):
            accuracies[pending[future]] = future.result()
            progress(
                f"scored {len(accuracies)}/{len(children)}: validation accuracy "
                f"{accuracies[pending[future]]:.4f} "
                f"(shared weights, {options.finetune_steps} fine-tuning steps)"
            )
    return [(accuracies[number], child) for number, child in enumerate(children)]


def _retrain_top(
    experiment: Experiment,
    ranked: list[Derived],
    options: DeriveOptions,
    work_dir: Path,
    progress: Callable[[str], None],
) -> list[Derived]:
    top = ranked[: options.retrain_top]
    retrained = []
    for number, item in enumerate(top, 1):
        accuracy = brief_retrain(experiment, item, options.retrain_epochs, work_dir)
        progress(
            f"retrained {number}/{len(top)} for {options.retrain_epochs} epoch(s): "
            f"validation accuracy {accuracy:.4f}"
        )
        retrained.append(replace(item, retrain_validation_accuracy=accuracy))
    retrained.sort(key=lambda d: -(d.retrain_validation_accuracy or 0.0))
    reordered = [*retrained, *ranked[options.retrain_top :]]
    return [replace(item, rank=rank) for rank, item in enumerate(reordered, 1)]


def write_derived(
    out_dir: Path, experiment: str, ranked: Sequence[Derived], options: DeriveOptions
) -> None:
    document = {
        "experiment": experiment,
        "finetune_steps": options.finetune_steps,
        "retrain_top": options.retrain_top,
        "retrain_epochs": options.retrain_epochs if options.retrain_top else None,
        "derived": [asdict(d) for d in ranked],
    }
    write_atomic(out_dir / DERIVED_FILE, json.dumps(document, indent=2) + "\n")
