"""`katib-enas retrain RUN_DIR`: train the best (or a chosen) architecture from scratch, with
the full schedule; save the model and report its test accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train the best (or a chosen) architecture from scratch and save the model"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a run directory made by `katib-enas run`")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--trial", help="retrain this trial's architecture (default: the best)")
    which.add_argument(
        "--derived",
        type=int,
        metavar="RANK",
        help="retrain this rank of `derived.json` (written by `katib-enas derive`)",
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs of the full schedule (default: the search trials')"
    )
    parser.add_argument(
        "--out", type=Path, help="where the model goes (default: RUN_DIR/retrain/<trial>)"
    )


def execute(args: argparse.Namespace) -> int:
    from katib_enas import exits
    from katib_enas.analysis.local_source import record_from_run_dir
    from katib_enas.analysis.retrain import MODEL_FILE, retrain
    from katib_enas.analysis.selection import choose
    from katib_enas.experiment import load_experiment
    from katib_enas.local.rundir import RunDir, RunError

    if args.epochs is not None and args.epochs < 1:
        raise RunError("--epochs: must be at least 1")
    record = record_from_run_dir(args.run_dir)
    chosen = choose(record, args.run_dir, args.trial, args.derived)
    experiment = load_experiment(RunDir(args.run_dir).experiment_file)
    out = args.out if args.out is not None else args.run_dir / "retrain" / chosen.label
    print(f"retraining {chosen.label} from scratch into {out}", flush=True)
    result = retrain(experiment, chosen.assignments, chosen.label, out, epochs=args.epochs)
    if result.summary is None:
        print(
            f"retrain of {chosen.label} failed (exit code {result.exit_code}); "
            f"its log: {out / 'trial.log'}"
        )
        return exits.FAILED
    s = result.summary
    print(
        f"retrained {chosen.label}: {result.epochs} epochs in {result.seconds:.1f} s; "
        f"test accuracy {s['test_accuracy']:.4f} (best validation "
        f"{s['best_validation_accuracy']:.4f}), {s['parameters']:,} parameters"
    )
    print(f"model: {out / MODEL_FILE}; load it with:")
    print("  import enas_trial")
    print(f'  model = enas_trial.load_model("{out / MODEL_FILE}")')
    print("  logits = model(images)   # N x C x H x W, pixel values 0..255")
    return exits.OK
