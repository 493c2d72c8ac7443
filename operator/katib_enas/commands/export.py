"""`katib-enas export RUN_DIR --out DIR`: a trial's model (the best by default) as files."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "export a trial's model (default: the best): weights, architecture, loader, torch.export"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")
    parser.add_argument("--trial", help="the trial to export (default: the best trial)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files into")


def execute(args: argparse.Namespace) -> int:
    from katib_enas.analysis.export import export_trial
    from katib_enas.analysis.local_source import record_from_run_dir
    from katib_enas.analysis.selection import choose_trial
    from katib_enas.local.rundir import RunDir

    record = record_from_run_dir(args.run_dir)
    trial = choose_trial(record, args.trial)
    exported = export_trial(record, trial, RunDir(args.run_dir).trial_dir(trial.name), args.out)
    for note in exported.notes:
        print(f"note: {note}")
    if exported.weights_from is not None:
        print(f"weights from {exported.weights_from}")
    for path in exported.paths:
        print(f"wrote {path}")
    model = args.out / "model.pt"
    print("load it with:")
    print("  import enas_trial")
    print(f'  model = enas_trial.load_model("{model}")')
    print("  logits = model(images)   # N x C x H x W, pixel values 0..255")
    return 0
