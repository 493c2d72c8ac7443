"""`katib-enas status RUN_DIR`: the summary of a local run, finished or not, from its database;
`--output json|csv` prints every trial for scripts (the same content as trials.json/.csv)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "print the summary of a local run (trials, conditions, best architecture)"
OUTPUTS = ("table", "json", "csv")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")
    parser.add_argument(
        "--output",
        "-o",
        choices=OUTPUTS,
        default="table",
        help="table: the summary for people; json or csv: every trial, numbers as numbers",
    )


def execute(args: argparse.Namespace) -> int:
    if args.output != "table":
        from katib_enas.analysis.local_source import record_from_run_dir
        from katib_enas.analysis.records import trials_csv, trials_json

        record = record_from_run_dir(args.run_dir)
        text = trials_json(record) if args.output == "json" else trials_csv(record)
        print(text, end="")
        return 0

    from katib_enas.experiment import load_experiment
    from katib_enas.local.results import console_for, render
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
    render(summary, console_for(), objective=experiment.objective)
    return 0
