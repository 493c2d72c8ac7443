"""`katib-enas report RUN_DIR`: rebuild a run's report, pictures and trial tables."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "rebuild a run's report.html, architecture pictures and trials.csv/json"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another run directory (e.g. the same search with `strategy: random`) whose best "
        "so far the objective plot shows for comparison",
    )
    parser.add_argument(
        "--top", type=int, default=3, help="architectures drawn in the report (default: 3)"
    )


def execute(args: argparse.Namespace) -> int:
    import time

    from katib_enas.analysis.artefacts import write_artefacts
    from katib_enas.analysis.local_source import record_from_run_dir
    from katib_enas.local.rundir import RunError

    if args.top < 1:
        raise RunError("--top: must be at least 1")
    started = time.monotonic()
    record = record_from_run_dir(args.run_dir)
    baseline = record_from_run_dir(args.baseline, "--baseline") if args.baseline else None
    written = write_artefacts(record, args.run_dir, baseline=baseline, top=args.top)
    for note in written.notes:
        print(f"note: {note}")
    for path in written.paths:
        print(f"wrote {path}")
    print(f"in {time.monotonic() - started:.1f} s")
    return 0
