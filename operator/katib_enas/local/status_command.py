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
    from katib_enas.local.results import render, summarize_run
    from katib_enas.local.runner import DB_FILE, EXPERIMENT_FILE, RunError
    from katib_enas.local.store import Store

    db = args.run_dir / DB_FILE
    if not db.is_file():
        raise RunError(f"run_dir: {args.run_dir} holds no run ({DB_FILE} missing)")
    experiment = load_experiment(args.run_dir / EXPERIMENT_FILE)
    store = Store(db)
    try:
        summary = summarize_run(
            experiment.name,
            store.get_meta("status", "") or "",
            store.get_meta("reason", "") or "",
            store.trials(),
            experiment.objective,
        )
    finally:
        store.close()
    render(summary, Console(), objective=experiment.objective)
    return 0
