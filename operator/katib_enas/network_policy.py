"""The NetworkPolicy that closes an Experiment's suggestion pod to everyone but its own callers.

With weight sharing the suggestion pod also serves `katib_enas.v1.SharedWeights`, whose pushes
change state, on Katib's port 6789. Katib gives a suggestion pod no such protection: its Service
is reachable from every pod of the cluster. This policy admits, on the gRPC ports, only

- the Experiment's own pods (trials pushing and pulling weights, and Katib's metrics-collector
  sidecar in them, which calls the early-stopping container of the same pod on 6788),
- Katib's controller (ValidateAlgorithmSettings, GetSuggestions, the early-stopping rules),

and on the metrics port only Prometheus' namespace. A NetworkPolicy cannot say "pods with the
same label value as the selected pod", so there is one policy per Experiment. The labels are
the ones Katib v0.19 sets (see the constants' comments); the chart's `networkPolicy` values and
the kustomize component `manifests/network-policy` render the same object, which the packaging
tests check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from katib_enas.core.errors import KatibEnasError

# Katib's ports in the suggestion pod (consts.DefaultSuggestionPort, DefaultEarlyStoppingPort).
SUGGESTION_PORT = 6789
EARLY_STOPPING_PORT = 6788
# On the suggestion pod only: util.SuggestionLabels sets it to the Suggestion's name, which is
# the Experiment's name. Trial pods carry the experiment label too, so it cannot select.
SUGGESTION_LABEL = "katib.kubeflow.org/suggestion"
# On every trial pod: Katib's pod webhook copies the Trial's labels (util.TrialLabels) onto each
# pod of the trial's Job, in namespaces labelled for metrics-collector injection.
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
# The katib-controller Deployment's pod labels (manifests/v1beta1/components/controller).
CONTROLLER_LABELS = {"katib.kubeflow.org/component": "controller"}
# Set by the API server on every namespace (Kubernetes >= 1.22): selects one namespace by name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
COMPONENT = "suggestion-network-policy"

MAX_EXPERIMENT_NAME = 40  # Katib's validating webhook refuses longer names
_EXPERIMENT = re.compile(r"[a-z]([-.a-z0-9]*[a-z0-9])?")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class NetworkPolicyError(KatibEnasError):
    """An argument cannot make a valid policy; the message names it."""


@dataclass(frozen=True)
class Peers:
    """Who may call besides the Experiment's own pods."""

    katib_namespace: str = "kubeflow"
    """Where Katib's controller runs."""
    metrics_port: int = 8000
    """The suggestion container's metrics port; 0: no rule for Prometheus."""
    metrics_namespace: str = "monitoring"
    """The namespace Prometheus scrapes from."""


def policy_name(experiment: str) -> str:
    return f"{experiment}-suggestion-ingress"


def check_experiment(name: str, argument: str = "EXPERIMENT") -> str:
    if len(name) > MAX_EXPERIMENT_NAME or not _EXPERIMENT.fullmatch(name):
        raise NetworkPolicyError(
            f"{argument} {name!r}: not an Experiment name (a lowercase letter, then lowercase "
            f"letters, digits, '-' or '.', at most {MAX_EXPERIMENT_NAME} characters)"
        )
    return name


def check_namespace(name: str, argument: str) -> str:
    if len(name) > 63 or not _NAMESPACE.fullmatch(name):
        raise NetworkPolicyError(
            f"{argument} {name!r}: not a namespace name (lowercase letters, digits and '-', "
            "at most 63 characters)"
        )
    return name


def check_peers(peers: Peers) -> Peers:
    check_namespace(peers.katib_namespace, "--katib-namespace")
    check_namespace(peers.metrics_namespace, "--metrics-namespace")
    port = peers.metrics_port
    if not 0 <= port <= 65535 or port in (SUGGESTION_PORT, EARLY_STOPPING_PORT):
        raise NetworkPolicyError(
            f"--metrics-port {port}: expected 0 (no Prometheus rule) or a port in 1-65535 other "
            f"than Katib's {SUGGESTION_PORT} and {EARLY_STOPPING_PORT}"
        )
    return peers


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _namespace(name: str) -> dict[str, Any]:
    return {"matchLabels": {NAMESPACE_NAME_LABEL: name}}


def network_policy(experiment: str, namespace: str | None, peers: Peers) -> dict[str, Any]:
    """The policy for `experiment`; without `namespace` it goes where `kubectl apply` puts it."""
    check_experiment(experiment)
    if namespace is not None:
        check_namespace(namespace, "--namespace")
    check_peers(peers)
    ingress: list[dict[str, Any]] = [
        {
            "from": [{"podSelector": {"matchLabels": {EXPERIMENT_LABEL: experiment}}}],
            "ports": _tcp(SUGGESTION_PORT, EARLY_STOPPING_PORT),
        },
        {
            "from": [
                {
                    "namespaceSelector": _namespace(peers.katib_namespace),
                    "podSelector": {"matchLabels": dict(CONTROLLER_LABELS)},
                }
            ],
            "ports": _tcp(SUGGESTION_PORT, EARLY_STOPPING_PORT),
        },
    ]
    if peers.metrics_port:
        ingress.append(
            {
                "from": [{"namespaceSelector": _namespace(peers.metrics_namespace)}],
                "ports": _tcp(peers.metrics_port),
            }
        )
    metadata: dict[str, Any] = {"name": policy_name(experiment)}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        "app.kubernetes.io/name": "katib-enas",
        "app.kubernetes.io/component": COMPONENT,
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": {"matchLabels": {SUGGESTION_LABEL: experiment}},
            # Ingress only: the service's own calls (none today) and DNS stay unrestricted.
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }
