"""`katib-enas validate FILE`: check an Experiment YAML as Katib would; say if it runs locally."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "check a Katib Experiment YAML; exit 2 with the offending field when it is invalid"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", type=Path, help="Experiment YAML (kubeflow.org/v1beta1)")


def execute(args: argparse.Namespace) -> int:
    from katib_enas.local.experiment import load_experiment

    experiment = load_experiment(args.experiment)
    space = experiment.search_space()
    what = (
        space.summary()
        if space is not None
        else f"{len(experiment.parameters)} parameter(s)"
        if experiment.parameters
        else "nasConfig"
    )
    print(
        f"{args.experiment}: valid Experiment {experiment.name!r} "
        f"(algorithm {experiment.algorithm.name}, {what}, "
        f"collector {experiment.metrics_collector.kind})"
    )
    for problem in experiment.local_problems():
        print(f"{args.experiment}: not runnable locally: {problem}")
    return 0
