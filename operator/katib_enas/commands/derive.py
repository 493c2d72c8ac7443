"""`katib-enas derive`: rank architectures of a weight-sharing search by their accuracy with the
trained shared weights (ENAS's derive step), for a local run or, through `--suggestion-address`
(e.g. `kubectl port-forward`), an experiment on a cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from katib_enas.local.derive import Derived
    from katib_enas.local.experiment import Experiment
    from katib_enas.local.rundir import RunDir

RETRAIN_JOB_FILE = "retrain-job.yaml"
HELP = "rank architectures sampled from a weight-sharing search by their shared-weight accuracy"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        type=Path,
        help="a run directory of `katib-enas run`, or (with --suggestion-address) the "
        "Experiment YAML of a search on a cluster",
    )
    parser.add_argument(
        "--count", "-k", type=int, default=8, help="architectures to sample (default: 8)"
    )
    parser.add_argument(
        "--suggestion-address",
        help="HOST:PORT of the experiment's suggestion service (e.g. after `kubectl "
        "port-forward svc/<experiment>-<algorithm> 6789`)",
    )
    parser.add_argument(
        "--out", type=Path, help="where derived.json goes (default: the run directory, or .)"
    )
    parser.add_argument(
        "--emit-job",
        type=Path,
        metavar="FILE",
        help="also write a Job (and its model volume claim) that retrains the best-ranked "
        "architecture from scratch on a cluster",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="with --emit-job: epochs of the retrain (default: the search trials' --num_epochs)",
    )


def execute(args: argparse.Namespace) -> int:
    from katib_enas.local.derive import derive
    from katib_enas.local.experiment import load_experiment
    from katib_enas.local.rundir import DERIVED_FILE, RunDir, RunError

    if not 1 <= args.count <= 1000:
        raise RunError(f"--count: {args.count} is not in 1..1000")
    if args.epochs is not None and args.epochs < 1:
        raise RunError("--epochs: must be at least 1")
    if args.epochs is not None and not (args.emit_job or args.suggestion_address):
        raise RunError("--epochs goes with --emit-job (here `katib-enas retrain --epochs`)")
    if args.suggestion_address:
        experiment = load_experiment(args.source)
        _require_sharing(experiment)
        out = args.out or Path()
        ranked = derive(experiment, args.suggestion_address, args.count, out, _progress)
        # On a cluster the retrain is a Job: write it unless asked to write it elsewhere.
        emit = args.emit_job or out / RETRAIN_JOB_FILE
        retrain = ""
    else:
        run_dir = RunDir(args.source)
        run_dir.require_run("source")
        experiment = load_experiment(run_dir.experiment_file)
        _require_sharing(experiment)
        out = args.out or run_dir.path
        ranked = _derive_local(run_dir, experiment, args.count, out)
        retrain = f"katib-enas retrain {run_dir.path} --derived 1"
        emit = args.emit_job
    for item in ranked:
        print(f"#{item.rank}  validation accuracy {item.shared_validation_accuracy:.4f} (shared)")
        for line in item.layers:
            print(f"    {line}")
    print(f"ranking in {out / DERIVED_FILE}")
    if emit is not None:
        _emit_job(emit, experiment, ranked[0], args.epochs)
    if retrain:
        print(f"retrain the best from scratch here: {retrain}")
    return 0


def _emit_job(path: Path, experiment: Experiment, best: Derived, epochs: int | None) -> None:
    from katib_enas.core.spaces import ARCHITECTURE, NN_CONFIG
    from katib_enas.local.retrain_job import write_retrain_job

    label = f"derived-{best.rank}"
    assignments = {ARCHITECTURE: best.architecture, NN_CONFIG: best.nn_config}
    name = write_retrain_job(path, experiment, assignments, epochs=epochs, label=label)
    print(f"wrote {path}: Job {name} retrains {label} from scratch")
    print(f"  kubectl apply -f {path}")


def _progress(number: int, total: int, accuracy: float) -> None:
    print(f"scored {number}/{total}: validation accuracy {accuracy:.4f}", file=sys.stderr)


def _require_sharing(experiment: Experiment) -> None:
    from katib_enas.local.rundir import RunError

    if not experiment.settings().weight_sharing:
        raise RunError(
            "source: derive needs a weight-sharing search (algorithm setting "
            "weight_sharing: true); rank this search's trials with `katib-enas status`"
        )


def _derive_local(run_dir: RunDir, experiment: Experiment, count: int, out: Path) -> list[Derived]:
    """The run's own service, in-process on its state, brought up to date with every trial."""
    from katib_enas.local.derive import derive
    from katib_enas.local.store import Store
    from katib_enas.local.suggestion_client import SuggestionClient

    store = Store(run_dir.db)
    client = SuggestionClient(experiment, store)
    try:
        client.connect(None, run_dir.suggestion_dir)
        client.suggest(store.trials(), 0)  # restores the controller and learns the last trials
        return derive(experiment, client.address, count, out, _progress)
    finally:
        client.close()
        store.close()
