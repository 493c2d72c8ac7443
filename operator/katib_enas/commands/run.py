"""`katib-enas run [EXPERIMENT.yaml]`: run a Katib Experiment on this machine.

Without a file it runs the bundled search on the offline `digits` data (the README's main job).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from katib_enas.envflags import add_flag

if TYPE_CHECKING:
    from katib_enas.analysis.records import ExperimentRecord

HELP = "run a Katib Experiment locally (default: the bundled ENAS search on digits)"
DEFAULT_EXAMPLE = "digits.yaml"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "experiment",
        nargs="?",
        type=Path,
        help="Experiment YAML (kubeflow.org/v1beta1); default: the bundled digits search, or "
        "with --resume the run directory's copy",
    )
    add_flag(
        parser,
        "--run-dir",
        default=None,
        type=Path,
        help="where the database, trial logs and results go (default: ./runs/<experiment>, "
        "or the first free ./runs/<experiment>-N)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run in --run-dir"
    )
    add_flag(
        parser,
        "--suggestion-address",
        default=None,
        help="HOST:PORT of a running suggestion service (default: start one in-process)",
    )
    add_flag(
        parser,
        "--metrics-port",
        default=0,
        type=int,
        help="serve the in-process suggestion service's Prometheus /metrics on this port during "
        "the run; 0: no metrics",
    )
    add_flag(parser, "--metrics-host", default="127.0.0.1", help="address for --metrics-port")
    add_flag(
        parser,
        "--trial-timeout",
        default=3600.0,
        type=float,
        help="seconds before a trial is killed and counted as failed (a Job's "
        "activeDeadlineSeconds wins)",
    )
    add_flag(
        parser,
        "--trial-launcher",
        default="fork",
        choices=["fork", "process"],
        help="fork: CPU enas-trial trials start from a process that has imported torch; "
        "process: every trial is a fresh process",
    )


def execute(args: argparse.Namespace) -> int:
    from rich.console import Console

    from katib_enas.analysis.local_source import record_from_run_dir
    from katib_enas.analysis.run_summary import console_for, render, summarize, write_results
    from katib_enas.local import preflight
    from katib_enas.local.rundir import RunDir, RunError, fresh_run_dir
    from katib_enas.local.runnable import local_problems
    from katib_enas.local.runner import Runner, RunOptions

    path: Path | None = args.experiment
    if args.resume and args.run_dir is not None:
        # Name the directory, not the experiment.yaml inside it, when there is no run to resume.
        RunDir(args.run_dir).require_run("--run-dir")
    if path is None and args.resume and args.run_dir is not None:
        path = RunDir(args.run_dir).experiment_file
    if path is None:
        path = bundled_example()
    if args.trial_timeout is not None and args.trial_timeout <= 0:
        raise RunError("--trial-timeout: must be > 0 seconds")
    if args.metrics_port and args.suggestion_address is not None:
        raise RunError("--metrics-port: the service at --suggestion-address serves its own metrics")
    if not 0 <= args.metrics_port <= 65535:
        raise RunError("--metrics-port: must be a port number, 0..65535")
    # Every check `validate` makes, before anything is created: a refused run leaves no trace.
    experiment = preflight.check(path, suggestion_address=args.suggestion_address).experiment
    problems = local_problems(experiment, remote_suggestion=args.suggestion_address is not None)
    if problems:
        raise RunError(f"{path}: cannot run locally: {problems[0]}")
    run_dir = args.run_dir if args.run_dir is not None else fresh_run_dir(experiment.name)
    options = RunOptions(
        run_dir=run_dir.resolve(),  # trials run in their own directories
        resume=args.resume,
        suggestion_address=args.suggestion_address,
        trial_timeout_s=args.trial_timeout,
        metrics_at=(args.metrics_host, args.metrics_port) if args.metrics_port else None,
        trial_launcher=args.trial_launcher,
    )
    logging.getLogger(__name__).info(
        "experiment %s from %s, run directory %s", experiment.name, path, run_dir
    )
    runner = Runner(experiment, options, Console(stderr=True))
    outcome = runner.run(path.read_text(encoding="utf-8"))
    console = console_for()
    # The runner is done and its store closed; everything people read is written from the record.
    record = record_from_run_dir(run_dir)
    summary = summarize(record, options.run_dir)
    render(summary, console)
    write_results(options.run_dir, summary)
    written = _artefacts(record, run_dir)
    console.print(f"wall time {outcome.wall_seconds:.1f} s; results in {run_dir}", markup=False)
    if written:
        console.print(f"  {written}", markup=False)
    return outcome.exit_code


def _artefacts(record: ExperimentRecord, run_dir: Path) -> str:
    """report.html, the pictures and trials.csv/json; a failure to draw never fails the run
    (`katib-enas report RUN_DIR` rebuilds them)."""
    from katib_enas.analysis.artefacts import write_artefacts

    try:
        written = write_artefacts(record, run_dir)
    except Exception as error:  # the run itself is done and recorded
        logging.getLogger(__name__).warning("results files not written: %s", error)
        return f"results files not written ({error}); try `katib-enas report {run_dir}`"
    for note in written.notes:
        logging.getLogger(__name__).warning("%s", note)
    return ", ".join(p.name for p in written.paths)


def bundled_example() -> Path:
    """The packaged digits Experiment (manifests/local/digits.yaml holds the same bytes)."""
    return Path(__file__).resolve().parent.parent / "examples" / DEFAULT_EXAMPLE
