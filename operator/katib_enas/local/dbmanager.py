"""Katib's `DBManager` gRPC service on loopback, backed by the run's SQLite store.

With the Push collector a trial reports its own metrics with `kubeflow.katib.report_metrics`,
which calls `DBManager.ReportObservationLog` at an address. Serving the same API locally lets
that code run unchanged: the runner points the trial at this server instead of
`katib-db-manager.kubeflow:6789`.
"""

from __future__ import annotations

import logging
from concurrent import futures

import grpc

from katib_enas.core.katib import parse_time
from katib_enas.experiment.metric_logs import MetricLog
from katib_enas.katib_api import pb, pb_grpc
from katib_enas.local.store import Store

log = logging.getLogger(__name__)


class DBManager(pb_grpc.DBManagerServicer):
    """The three DBManager calls over a `Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def ReportObservationLog(  # noqa: N802
        self, request: pb.ReportObservationLogRequest, context: grpc.ServicerContext
    ) -> pb.ReportObservationLogReply:
        if not request.trial_name:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "trial_name: must not be empty")
        logs = [
            MetricLog(entry.time_stamp, entry.metric.name, entry.metric.value)
            for entry in request.observation_log.metric_logs
        ]
        for entry in logs:
            if not entry.name:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "metric_logs[].metric.name: empty")
        self._store.add_logs(request.trial_name, logs)
        log.debug("stored %d metric log(s) for %s", len(logs), request.trial_name)
        return pb.ReportObservationLogReply()

    def GetObservationLog(  # noqa: N802
        self, request: pb.GetObservationLogRequest, context: grpc.ServicerContext
    ) -> pb.GetObservationLogReply:
        entries = self._store.logs(request.trial_name, request.metric_name)
        try:
            start = parse_time(request.start_time) if request.start_time else None
            end = parse_time(request.end_time) if request.end_time else None
        except ValueError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"start_time/end_time: {error}")
        selected = []
        for entry in entries:
            if start is not None or end is not None:
                try:
                    when = parse_time(entry.timestamp)
                except ValueError:
                    continue
                if (start is not None and when < start) or (end is not None and when > end):
                    continue
            selected.append(
                pb.MetricLog(
                    time_stamp=entry.timestamp,
                    metric=pb.Metric(name=entry.name, value=entry.value),
                )
            )
        return pb.GetObservationLogReply(observation_log=pb.ObservationLog(metric_logs=selected))

    def DeleteObservationLog(  # noqa: N802
        self, request: pb.DeleteObservationLogRequest, context: grpc.ServicerContext
    ) -> pb.DeleteObservationLogReply:
        self._store.delete_logs(request.trial_name)
        return pb.DeleteObservationLogReply()


def start_dbmanager(store: Store, address: str = "127.0.0.1:0") -> tuple[grpc.Server, int]:
    """Start a DBManager server on `address`; returns it and the bound port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_DBManagerServicer_to_server(DBManager(store), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot bind the local DBManager to {address}")
    server.start()
    return server, port
