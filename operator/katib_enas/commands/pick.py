"""`katib-enas pick RUN_DIR --within 0.5%`: the smallest child within a tolerance of the best,
and how to retrain it (here, or on a cluster with `--emit-job`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from katib_enas.analysis.records import TrialRow

HELP = "pick the smallest trial within a tolerance of the best, to retrain or emit as a Job"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")
    parser.add_argument(
        "--within",
        required=True,
        metavar="TOLERANCE",
        help="how far from the best value the pick may be: 0.005 (in the metric's units) or "
        "0.5%% (of the best value)",
    )
    parser.add_argument(
        "--emit-job",
        type=Path,
        metavar="FILE",
        help="also write a retrain Job (and its model volume claim) for the pick here",
    )
    parser.add_argument(
        "--epochs", type=int, help="with --emit-job: epochs (default: the search trials')"
    )


def execute(args: argparse.Namespace) -> int:
    from katib_enas.analysis.local_source import record_from_run_dir
    from katib_enas.analysis.retrain_job import write_retrain_job
    from katib_enas.analysis.selection import parse_within, smallest_within
    from katib_enas.experiment import load_experiment
    from katib_enas.local.rundir import RunDir, RunError

    tolerance = parse_within(args.within)
    if args.epochs is not None and (args.emit_job is None or args.epochs < 1):
        raise RunError("--epochs: goes with --emit-job and must be at least 1")
    record = record_from_run_dir(args.run_dir)
    best = record.best
    picked = smallest_within(record, tolerance)
    assert best is not None and best.objective is not None  # smallest_within checked it
    metric = record.objective.metric_name
    print(f"best:   {_line(best, metric)}")
    if picked.name == best.name:
        print(f"picked: the best itself: no smaller trial is within {tolerance.text} of it")
    else:
        gap = abs((picked.objective or 0.0) - best.objective)
        ratio = (best.parameters or 0) / (picked.parameters or 1)
        print(f"picked: {_line(picked, metric)}")
        print(f"        {gap:.4f} from the best (within {tolerance.text}), {ratio:.1f}x smaller")
    print("retrain it from scratch and save the model:")
    print(f"  katib-enas retrain {shlex.quote(str(args.run_dir))} --trial {picked.name}")
    if args.emit_job is not None:
        experiment = load_experiment(RunDir(args.run_dir).experiment_file)
        name = write_retrain_job(
            args.emit_job, experiment, picked.assignments, epochs=args.epochs, label=picked.name
        )
        print(f"wrote {args.emit_job}: Job {name} retrains {picked.name}")
        print(f"  kubectl apply -f {args.emit_job}")
    return 0


def _line(trial: TrialRow, metric: str) -> str:
    size = f"{trial.parameters:,} parameters" if trial.parameters is not None else "size unknown"
    test = f", Test-Accuracy {trial.test_accuracy:.4f}" if trial.test_accuracy is not None else ""
    return f"{trial.name}, {metric} = {trial.objective:.4f}, {size}{test}"
