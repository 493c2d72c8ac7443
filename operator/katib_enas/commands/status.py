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
    from katib_enas.analysis.local_source import record_from_run_dir

    record = record_from_run_dir(args.run_dir)
    if args.output != "table":
        from katib_enas.analysis.records import trials_csv, trials_json

        print(trials_json(record) if args.output == "json" else trials_csv(record), end="")
        return 0

    from katib_enas.analysis.run_summary import console_for, render, summarize

    render(summarize(record, args.run_dir), console_for())
    return 0
