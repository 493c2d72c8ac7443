"""Per-epoch curves of a cluster experiment: Katib's observation logs, read from its DB manager.

No Kubernetes object holds them; Katib's `katib-db-manager` serves them over gRPC
(`GetObservationLog`), as the Katib SDK's `KatibClient.get_trial_metrics` reads them. That
client also loads a kubeconfig it does not need for this call, so the same request goes through
the SDK's generated stub directly. The DB manager is inside the cluster: from a laptop,
`kubectl -n kubeflow port-forward svc/katib-db-manager 6789` and pass `localhost:6789`.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from katib_enas.analysis.records import curve
from katib_enas.core.errors import KatibEnasError
from katib_enas.katib_api import pb, pb_grpc

DEADLINE_S = 30.0


class ObservationLogError(KatibEnasError):
    """The DB manager cannot be reached or refuses the request."""


def fetch_curves(
    address: str, trial_names: Iterable[str], metric: str
) -> dict[str, tuple[float, ...]]:
    """Trial name -> the values of `metric` it reported, in order (trials without any left out)."""
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.DBManagerStub(channel)
    curves: dict[str, tuple[float, ...]] = {}
    try:
        for name in trial_names:
            request = pb.GetObservationLogRequest(trial_name=name, metric_name=metric)
            try:
                reply = stub.GetObservationLog(request, timeout=DEADLINE_S)
            except grpc.RpcError as error:
                raise ObservationLogError(
                    f"--db-manager {address}: cannot read the observation log of {name} "
                    f"({error.code().name}: {error.details()})"
                ) from None
            logs = reply.observation_log.metric_logs
            values = curve([log.metric.value for log in logs if log.metric.name == metric])
            if values:
                curves[name] = values
    finally:
        channel.close()
    return curves
