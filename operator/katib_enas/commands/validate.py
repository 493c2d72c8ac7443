"""`katib-enas validate FILE`: would a Katib v0.19 cluster accept this Experiment, and can it run
here? The same checks as `katib-enas run` makes before it starts anything (`local.preflight`):
Katib's defaulting and validating webhook, our stricter rules, and the algorithm settings
through the suggestion service's ValidateAlgorithmSettings. What only the cluster can check is
listed after the verdict; `--defaults` prints the Experiment as Katib stores it instead."""

from __future__ import annotations

import argparse
from pathlib import Path

from katib_enas.envflags import add_flag

HELP = "check a Katib Experiment YAML as Katib v0.19 would; exit 2 naming the field when invalid"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", type=Path, help="Experiment YAML (kubeflow.org/v1beta1)")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="print the Experiment after Katib's defaulting, as `kubectl apply` would store it",
    )
    add_flag(
        parser,
        "--suggestion-address",
        default=None,
        help="HOST:PORT of a suggestion service whose ValidateAlgorithmSettings checks the "
        "algorithm settings (default: our ENAS service's check, in-process)",
    )


def execute(args: argparse.Namespace) -> int:
    import yaml

    from katib_enas.core.errors import KatibEnasError
    from katib_enas.local import preflight
    from katib_enas.local.runnable import local_problems

    path: Path = args.experiment
    checked = preflight.check(path, suggestion_address=args.suggestion_address)
    if args.defaults:
        print(yaml.safe_dump(checked.defaulted, sort_keys=False), end="")
        return 0
    experiment = checked.experiment
    what = f"{len(experiment.parameters)} parameter(s)" if experiment.parameters else "nasConfig"
    try:
        space = experiment.search_space()
    except KatibEnasError:  # settings only the remote service (--suggestion-address) knows
        space = None
    if space is not None:
        what = space.summary()
    print(
        f"{path}: valid Experiment {experiment.name!r} "
        f"(algorithm {experiment.algorithm.name}, {what}, "
        f"collector {experiment.metrics_collector.kind})"
    )
    remote = args.suggestion_address is not None
    for problem in local_problems(experiment, remote_suggestion=remote):
        print(f"{path}: not runnable locally: {problem}")
    for note in checked.cluster_notes:
        print(f"{path}: left to the cluster: {note}")
    return 0
