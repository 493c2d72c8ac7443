"""`katib-enas status RUN_DIR`: the summary of a local run, finished or not, from its database."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "print the summary of a local run (trials, conditions, best architecture)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")


def execute(args: argparse.Namespace) -> int:
    from rich.console import Console

    from katib_enas.local.experiment import load_experiment
    from katib_enas.local.results import render
    from katib_enas.local.rundir import RunDir
    from katib_enas.local.runner import summarize
    from katib_enas.local.store import Store

    run_dir = RunDir(args.run_dir)
    run_dir.require_run("run_dir")
    experiment = load_experiment(run_dir.experiment_file)
    store = Store(run_dir.db)
    try:
        summary = summarize(experiment, store, run_dir.path)
    finally:
        store.close()
    render(summary, Console(), objective=experiment.objective)
    return 0
