"""`katib-enas results EXPERIMENT -n NAMESPACE`: the report, pictures and trial tables of an
experiment on a cluster, read through the Kubernetes API; `--emit-job` adds a retrain Job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "write the report, pictures and trials.csv/json of a cluster experiment"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="the Katib Experiment's name")
    parser.add_argument("-n", "--namespace", required=True, help="its namespace")
    parser.add_argument(
        "--out", type=Path, help="folder for the files (default: ./results/<experiment>)"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG or ~/.kube)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument(
        "--top", type=int, default=3, help="architectures drawn in the report (default: 3)"
    )
    parser.add_argument(
        "--db-manager",
        metavar="HOST:PORT",
        help="Katib's DB manager, for each trial's per-epoch curve (from a laptop: kubectl -n "
        "kubeflow port-forward svc/katib-db-manager 6789, then localhost:6789)",
    )
    parser.add_argument(
        "--emit-job",
        type=Path,
        metavar="FILE",
        help="also write a retrain Job (and its model volume claim) for the best trial here",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--trial", help="with --emit-job: retrain this trial instead")
    which.add_argument(
        "--within",
        metavar="TOLERANCE",
        help="with --emit-job: retrain the smallest trial within this tolerance of the best "
        "(0.005 in the metric's units, or 0.5%% of the best value)",
    )
    parser.add_argument(
        "--epochs", type=int, help="with --emit-job: epochs (default: the search trials')"
    )


def execute(args: argparse.Namespace) -> int:
    from katib_enas.analysis import cluster_source
    from katib_enas.analysis.artefacts import write_artefacts
    from katib_enas.local.rundir import RunError

    if args.top < 1:
        raise RunError("--top: must be at least 1")
    if args.epochs is not None and args.epochs < 1:
        raise RunError("--epochs: must be at least 1")
    if args.emit_job is None and (args.trial or args.epochs or args.within):
        raise RunError("--trial, --within and --epochs go with --emit-job")
    found, trials = cluster_source.fetch(
        args.experiment, args.namespace, kubeconfig=args.kubeconfig, context=args.context
    )
    experiment, problem = _model(found)
    summary = ""
    if experiment is not None:
        space = experiment.search_space()
        summary = space.summary() if space is not None else ""
    record = cluster_source.record_from_objects(found, trials, summary)
    if args.db_manager:
        import dataclasses

        from katib_enas.analysis.observation_logs import fetch_curves

        curves = fetch_curves(
            args.db_manager, [t.name for t in record.trials], record.objective.metric_name
        )
        record = dataclasses.replace(record, curves=curves)
    out = args.out if args.out is not None else Path("results") / args.experiment
    written = write_artefacts(record, out, top=args.top)
    for note in written.notes:
        print(f"note: {note}")
    for path in written.paths:
        print(f"wrote {path}")
    if args.emit_job is not None:
        if experiment is None:
            raise RunError(f"--emit-job: the Experiment cannot be read as ours: {problem}")
        _emit(args, experiment, record)
    return 0


def _model(found: dict[str, Any]) -> tuple[Any, str]:
    """The Experiment model (None, why: one we cannot read; the report still works)."""
    from katib_enas.core.errors import KatibEnasError
    from katib_enas.experiment import experiment_from_dict

    meta = found.get("metadata") or {}
    manifest = {
        "apiVersion": found.get("apiVersion"),
        "kind": found.get("kind"),
        "metadata": {k: meta[k] for k in ("name", "namespace") if k in meta},
        "spec": found.get("spec"),
    }
    try:
        return experiment_from_dict(manifest), ""
    except KatibEnasError as error:
        return None, str(error)


def _emit(args: argparse.Namespace, experiment: Any, record: Any) -> None:
    from katib_enas.analysis.retrain_job import write_retrain_job
    from katib_enas.analysis.selection import choose_trial, parse_within, smallest_within

    if args.within is not None:
        trial = smallest_within(record, parse_within(args.within))
    else:
        trial = choose_trial(record, args.trial)
    name = write_retrain_job(
        args.emit_job, experiment, trial.assignments, epochs=args.epochs, label=trial.name
    )
    print(f"wrote {args.emit_job}: Job {name} retrains {trial.name}")
    print(f"  kubectl apply -f {args.emit_job}")
