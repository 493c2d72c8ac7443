"""`katib-enas derive`: rank architectures of a weight-sharing search by their accuracy with the
trained shared weights, each fine-tuned briefly first (ENAS's derive step: sample many, score,
keep the best), for a local run or, through `--suggestion-address` (e.g. `kubectl
port-forward`), an experiment on a cluster."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from katib_enas.analysis.derive import Derived, DeriveOptions
    from katib_enas.experiment import Experiment
    from katib_enas.local.rundir import RunDir

RETRAIN_JOB_FILE = "retrain-job.yaml"
HELP = "rank architectures sampled from a weight-sharing search by their shared-weight accuracy"
# Chosen by tests/benchmarks/test_bench_fashion.py (README, "Weight sharing"): fine-tuned scores
# rank children where zero-shot ones do not.
FINETUNE_STEPS = 40
COUNT = 16


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        type=Path,
        help="a run directory of `katib-enas run`, or (with --suggestion-address) the "
        "Experiment YAML of a search on a cluster",
    )
    parser.add_argument(
        "--count",
        "-k",
        type=int,
        default=COUNT,
        help=f"architectures to sample from the trained controller (default: {COUNT})",
    )
    parser.add_argument(
        "--finetune-steps",
        type=int,
        default=FINETUNE_STEPS,
        help="training steps from the shared weights before each candidate is scored, never "
        f"pushed to the store (0: zero-shot; default: {FINETUNE_STEPS})",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=5,
        help="candidates to print (all go to derived.json; default: 5)",
    )
    parser.add_argument(
        "--retrain-top",
        type=int,
        default=0,
        metavar="K",
        help="also train the K best-scored candidates from scratch for --retrain-epochs and "
        "rank those K by that (default: 0, off)",
    )
    parser.add_argument(
        "--retrain-epochs",
        type=int,
        default=1,
        help="epochs of each --retrain-top run (default: 1)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        help="candidates scored at once (default: the Experiment's parallelTrialCount, at "
        "most the number of CPUs)",
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
    from katib_enas.analysis.derive import DeriveOptions, derive
    from katib_enas.experiment import load_experiment
    from katib_enas.local.rundir import DERIVED_FILE, RunDir, RunError

    if not 1 <= args.count <= 1000:
        raise RunError(f"--count: {args.count} is not in 1..1000")
    for flag, value, low, high in (
        ("--finetune-steps", args.finetune_steps, 0, 1_000_000),
        ("--top", args.top, 1, 1000),
        ("--retrain-top", args.retrain_top, 0, 1000),
        ("--retrain-epochs", args.retrain_epochs, 1, 10_000),
    ):
        if not low <= value <= high:
            raise RunError(f"{flag}: {value} is not in {low}..{high}")
    if args.parallel is not None and not 1 <= args.parallel <= 64:
        raise RunError(f"--parallel: {args.parallel} is not in 1..64")
    options = DeriveOptions(args.count, args.finetune_steps, args.retrain_top, args.retrain_epochs)
    if args.epochs is not None and args.epochs < 1:
        raise RunError("--epochs: must be at least 1")
    if args.epochs is not None and not (args.emit_job or args.suggestion_address):
        raise RunError("--epochs goes with --emit-job (here `katib-enas retrain --epochs`)")
    if args.suggestion_address:
        experiment = load_experiment(args.source)
        _require_sharing(experiment)
        out = args.out or Path()
        options = _with_parallel(options, args.parallel, experiment)
        ranked = derive(experiment, args.suggestion_address, options, out, _progress)
        # On a cluster the retrain is a Job: write it unless asked to write it elsewhere.
        emit = args.emit_job or out / RETRAIN_JOB_FILE
        retrain = ""
    else:
        run_dir = RunDir(args.source)
        run_dir.require_run("source")
        experiment = load_experiment(run_dir.experiment_file)
        _require_sharing(experiment)
        out = args.out or run_dir.path
        options = _with_parallel(options, args.parallel, experiment)
        ranked = _derive_local(run_dir, experiment, options, out)
        retrain = f"katib-enas retrain {run_dir.path} --derived 1"
        emit = args.emit_job
    for item in ranked[: args.top]:
        retrained = item.retrain_validation_accuracy
        brief = "" if retrained is None else f", {retrained:.4f} retrained briefly"
        print(
            f"#{item.rank}  validation accuracy {item.shared_validation_accuracy:.4f} "
            f"(shared weights, {options.finetune_steps} fine-tuning steps){brief}"
        )
        for line in item.layers:
            print(f"    {line}")
    print(
        "shared-weight scores rank candidates; they are not final accuracies: retrain the "
        "chosen one from scratch"
    )
    print(f"ranking of all {len(ranked)} in {out / DERIVED_FILE}")
    if emit is not None:
        _emit_job(emit, experiment, ranked[0], args.epochs)
    if retrain:
        print(f"retrain the best from scratch here: {retrain}")
    return 0


def _emit_job(path: Path, experiment: Experiment, best: Derived, epochs: int | None) -> None:
    from katib_enas.analysis.retrain_job import write_retrain_job
    from katib_enas.core.spaces import ARCHITECTURE, NN_CONFIG

    label = f"derived-{best.rank}"
    assignments = {ARCHITECTURE: best.architecture, NN_CONFIG: best.nn_config}
    name = write_retrain_job(path, experiment, assignments, epochs=epochs, label=label)
    print(f"wrote {path}: Job {name} retrains {label} from scratch")
    print(f"  kubectl apply -f {path}")


def _with_parallel(
    options: DeriveOptions, parallel: int | None, experiment: Experiment
) -> DeriveOptions:
    """`--parallel`, or as many at once as the search ran trials (the user's own measure of
    what the machine takes), at most one per CPU."""
    if parallel is None:
        parallel = max(1, min(experiment.parallel_trial_count, os.cpu_count() or 1))
    return dataclasses.replace(options, parallel=parallel)


def _progress(line: str) -> None:
    print(line, file=sys.stderr)


def _require_sharing(experiment: Experiment) -> None:
    from katib_enas.local.rundir import RunError

    if not experiment.settings().weight_sharing:
        raise RunError(
            "source: derive needs a weight-sharing search (algorithm setting "
            "weight_sharing: true); rank this search's trials with `katib-enas status`"
        )


def _derive_local(
    run_dir: RunDir, experiment: Experiment, options: DeriveOptions, out: Path
) -> list[Derived]:
    """The run's own service, in-process on its state, brought up to date with every trial."""
    from katib_enas.analysis.derive import derive
    from katib_enas.local.store import Store
    from katib_enas.local.suggestion_client import SuggestionClient

    store = Store(run_dir.db)
    client = SuggestionClient(experiment, store)
    try:
        client.connect(None, run_dir.suggestion_dir)
        client.suggest(store.trials(), 0)  # restores the controller and learns the last trials
        return derive(experiment, client.address, options, out, _progress)
    finally:
        client.close()
        store.close()
