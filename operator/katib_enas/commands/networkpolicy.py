"""`katib-enas networkpolicy EXPERIMENT...`: print the NetworkPolicy of each Experiment's
suggestion pod, for `kubectl apply -f -` next to the Experiment (see
`katib_enas.network_policy` for what it admits and why)."""

from __future__ import annotations

import argparse

HELP = (
    "print a NetworkPolicy per Experiment: its suggestion pod then accepts only the "
    "Experiment's pods, Katib's controller and Prometheus (pipe into `kubectl apply -f -`)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiments", nargs="+", metavar="EXPERIMENT", help="Experiment name")
    # Not an env-backed flag: suggestion pods get KATIB_ENAS_NAMESPACE, which means their own.
    parser.add_argument(
        "-n",
        "--namespace",
        help="the Experiments' namespace (default: none in the output, so kubectl's own -n or "
        "context namespace decides)",
    )
    parser.add_argument(
        "--katib-namespace", default="kubeflow", help="where Katib's controller runs"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=8000,
        help="the suggestion container's metrics port (the chart's suggestion.metricsPort; "
        "0: no rule for Prometheus)",
    )
    parser.add_argument(
        "--metrics-namespace", default="monitoring", help="the namespace Prometheus runs in"
    )


def execute(args: argparse.Namespace) -> int:
    import yaml

    from katib_enas.network_policy import Peers, network_policy

    peers = Peers(args.katib_namespace, args.metrics_port, args.metrics_namespace)
    # Build every policy before printing any, so bad input prints nothing half-done.
    policies = [network_policy(name, args.namespace, peers) for name in args.experiments]
    scraped = (
        f" and {peers.metrics_namespace} on :{peers.metrics_port}" if peers.metrics_port else ""
    )
    documents = [
        f"# Ingress to the suggestion pod of Experiment {name} only from its own pods, Katib's "
        f"controller ({peers.katib_namespace}){scraped}. Needs a CNI that enforces it.\n"
        + yaml.safe_dump(policy, sort_keys=False)
        for name, policy in zip(args.experiments, policies, strict=True)
    ]
    print("---\n".join(documents), end="")
    return 0
