"""A Katib Experiment on a cluster as an `ExperimentRecord`, read through the Kubernetes API.

The real `kubernetes` client (the Katib SDK depends on it), with the current kubeconfig or,
inside a pod, the service account: `GET` the Experiment and `LIST` its Trials (label
`katib.kubeflow.org/experiment`) in the namespace, `kubeflow.org/v1beta1`. Nothing is written
to the cluster. Trial conditions, observations and messages are read as Katib writes them; the
controller's update history lives in the suggestion service's metrics, not in any object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from katib_enas.analysis.records import (
    ExperimentRecord,
    TrialRow,
    number,
    parameter_count,
    picked_metrics,
    seconds,
)
from katib_enas.analysis.settings import objective_of, settings_of
from katib_enas.core.errors import KatibEnasError
from katib_enas.core.katib import Condition, Objective
from katib_enas.core.spaces.base import ASSIGNMENT_NAMES

GROUP, VERSION = "kubeflow.org", "v1beta1"
EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
NO_HISTORY = (
    "no controller history: on a cluster it is in the suggestion service's Prometheus metrics "
    "(katib_enas_latest_reward, katib_enas_reward_baseline, katib_enas_policy_entropy_nats; "
    "see the Katib ENAS dashboard) and in its live report (kubectl port-forward "
    "deployment/<experiment>-<algorithm> 8000, then http://localhost:8000/report)"
)
# A trial's current condition: the terminal ones first (Katib keeps Running=False beside them).
_PRECEDENCE = (
    "Succeeded",
    "EarlyStopped",
    "MetricsUnavailable",
    "Failed",
    "Killed",
    "Running",
    "Created",
)


class ClusterError(KatibEnasError):
    """The cluster cannot be reached or does not have the experiment."""


def fetch(
    experiment: str, namespace: str, *, kubeconfig: str | None, context: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Experiment object and its Trials, as the API returns them."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError

    try:
        config.load_kube_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as error:
        if kubeconfig is not None or context is not None:
            raise ClusterError(f"--kubeconfig: cannot use it: {error}") from None
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except ConfigException:
            raise ClusterError(
                "no Kubernetes configuration: no kubeconfig (KUBECONFIG or ~/.kube/config) "
                "and not inside a pod; pass --kubeconfig"
            ) from None
    # The client retries a refused connection; its per-retry warnings are noise on a terminal.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    api = client.CustomObjectsApi()
    try:
        found = api.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "experiments", experiment
        )
        listed = api.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "trials", label_selector=f"{EXPERIMENT_LABEL}={experiment}"
        )
    except ApiException as error:
        if error.status == 404:
            raise ClusterError(
                f"experiment {experiment!r} not found in namespace {namespace!r}"
            ) from None
        raise ClusterError(
            f"the Kubernetes API answered {error.status} {error.reason} for experiment "
            f"{namespace}/{experiment}"
        ) from None
    except HTTPError as error:
        cause = str(getattr(error, "reason", None) or error)
        host = api.api_client.configuration.host
        raise ClusterError(
            f"cannot reach the Kubernetes API at {host}: {cause.rsplit('): ', 1)[-1]}"
        ) from None
    found_obj: dict[str, Any] = cast(dict[str, Any], found)
    items = cast(dict[str, Any], listed).get("items") or ()
    return found_obj, [dict(item) for item in items]


def record_from_objects(
    experiment: Mapping[str, Any], trials: Sequence[Mapping[str, Any]], space_summary: str = ""
) -> ExperimentRecord:
    """The record of an Experiment object and its Trial objects."""
    meta = experiment.get("metadata") or {}
    spec = experiment.get("spec") or {}
    objective = objective_of(spec)
    ordered = sorted(
        trials,
        key=lambda t: ((t.get("metadata") or {}).get("creationTimestamp") or "", _name(t)),
    )
    status, reason = _experiment_status(experiment.get("status") or {})
    return ExperimentRecord(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        source=f"cluster {meta.get('namespace', '')}/{meta.get('name', '')}",
        status=status,
        reason=reason,
        objective=objective,
        settings=settings_of(spec, space_summary),
        trials=tuple(_row(t, seq, objective) for seq, t in enumerate(ordered, start=1)),
        notes=(NO_HISTORY, *_log_advice(spec, str(meta.get("namespace", "")))),
    )


def _log_advice(spec: Mapping[str, Any], namespace: str) -> tuple[str, ...]:
    """Where a trial's log is: with StdOut (Katib's default collector) not in `kubectl logs`."""
    collector = ((spec.get("metricsCollectorSpec") or {}).get("collector") or {}).get("kind")
    if (collector or "StdOut") != "StdOut":
        return ()
    return (
        "trial logs: with the StdOut collector Katib sends each trial's output to "
        "/var/log/katib/metrics.log inside its pod, which the metrics sidecar echoes: "
        f"kubectl -n {namespace} logs <trial pod> -c metrics-logger-and-collector "
        "(the training container's own log is empty)",
    )


def _name(trial: Mapping[str, Any]) -> str:
    return str((trial.get("metadata") or {}).get("name", ""))


def _experiment_status(status: Mapping[str, Any]) -> tuple[str, str]:
    true = [c for c in status.get("conditions") or () if c.get("status") == "True"]
    if not true:
        return "", ""
    last = true[-1]
    return str(last.get("type", "")), str(last.get("message", ""))


def _condition(status: Mapping[str, Any]) -> tuple[Condition, str]:
    """The trial's current condition and its message (Katib's reason and message)."""
    conditions = {
        c.get("type"): c for c in status.get("conditions") or () if c.get("status") == "True"
    }
    for name in _PRECEDENCE:
        if name in conditions:
            found = conditions[name]
            message = str(found.get("message") or "")
            if name in ("Succeeded", "Running", "Created"):
                message = ""
            return Condition.from_katib_name(name), message
    return Condition.UNKNOWN, ""


def _row(trial: Mapping[str, Any], seq: int, objective: Objective) -> TrialRow:
    spec = trial.get("spec") or {}
    status = trial.get("status") or {}
    assignments = {
        str(a.get("name")): str(a.get("value"))
        for a in spec.get("parameterAssignments") or ()
        if a.get("name") in ASSIGNMENT_NAMES
    }
    observation = {
        str(m.get("name")): {k: str(m.get(k, "")) for k in ("min", "max", "latest")}
        for m in (status.get("observation") or {}).get("metrics") or ()
    }
    metrics = picked_metrics(observation, objective)
    value = metrics.get(objective.metric_name)
    condition, message = _condition(status)
    start, end = status.get("startTime"), status.get("completionTime")
    return TrialRow(
        name=_name(trial),
        seq=seq,
        condition=condition,
        objective=value if isinstance(value, float) else None,
        metrics={k: number(v) for k, v in metrics.items()},
        start_time=start,
        completion_time=end,
        seconds=seconds(start, end),
        parameters=parameter_count(metrics, assignments),
        assignments=assignments,
        message=message,
        observation=observation,
    )
