"""The gRPC server: the suggestion servicer, the shared-weights store and standard health
checking, all on one port.

Katib's kubelet probe asks the health service for `manager.v1beta1.Suggestion` on port 6789, so
health answers on the same server; a spare worker keeps it answering while a long
`GetSuggestions` runs (probe timeout: 1 s). Katib gives a suggestion exactly one Service and
port, so the trials' `katib_enas.v1.SharedWeights` calls come there too.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from concurrent import futures
from pathlib import Path
from types import FrameType

import grpc
import torch
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from katib_enas.core.errors import ServeError
from katib_enas.core.sharing.reference import katib_address
from katib_enas.katib_api import pb_grpc
from katib_enas.service.admission import STORE_SLOTS, Admission
from katib_enas.service.metrics import ServiceMetrics
from katib_enas.service.servicer import LearnListener, RequestListener, SuggestionServicer
from katib_enas.service.sessions import Sessions
from katib_enas.service.shared_weights import SharedWeightsServicer
from katib_enas.service.stores import Stores
from katib_enas.v1 import shared_weights_pb2_grpc as sw_grpc

log = logging.getLogger(__name__)

HEALTH_SERVICE_NAMES = ("", "manager.v1beta1.Suggestion", "api.v1.beta1.Suggestion")
NAMESPACE_ENV = "KATIB_ENAS_NAMESPACE"  # set by our katib-config entry from the pod's namespace
# Set by our katib-config entry from the pod's `katib.kubeflow.org/experiment` label: Katib runs
# one suggestion service per experiment, so its store serves only that one.
EXPERIMENT_ENV = "KATIB_ENAS_EXPERIMENT"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
MAX_MESSAGE_BYTES = 512 * 1024 * 1024  # every request carries every trial: far above 4 MiB


class SuggestionServer:
    """A started server with its servicer, health service and bound port."""

    def __init__(
        self,
        server: grpc.Server,
        port: int,
        servicer: SuggestionServicer,
        health_servicer: health.HealthServicer,
    ) -> None:
        self.server = server
        self.port = port
        self.servicer = servicer
        self.health = health_servicer

    def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, let calls in flight finish for `grace` seconds, save the shared
        weights, then stop."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.servicer.stores.save_all()


def pod_namespace() -> str | None:
    """The namespace this service runs in, if it can tell (see `katib_address`)."""
    named = os.environ.get(NAMESPACE_ENV, "").strip()
    if named:
        return named
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def start_server(
    address: str = "127.0.0.1:0",
    *,
    state_dir: Path | None = None,
    workers: int = 4,
    metrics: ServiceMetrics | None = None,
    advertise: str | None = None,
    on_learned: LearnListener | None = None,
    on_request: RequestListener | None = None,
) -> SuggestionServer:
    """Start a suggestion server on `address` (port 0: any free port, see `.port`).

    `advertise`: the address trials reach the shared-weights store at (`{port}` is replaced by
    the bound port); default: Katib's Service for the experiment, `katib_address`."""
    # The controller's tensors are tiny: one thread is fastest and keeps replays bit-identical.
    torch.set_num_threads(1)
    server = grpc.server(
        # The store's calls get threads of their own (`admission`): never Katib's or health's.
        futures.ThreadPoolExecutor(max_workers=max(2, workers) + STORE_SLOTS),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # Without this a second service on a taken port would silently share it.
            ("grpc.so_reuseport", 0),
        ],
    )
    metrics = metrics or ServiceMetrics()
    bound: list[int] = []
    namespace = pod_namespace()

    def address_of(experiment: str, algorithm: str) -> str:
        if advertise is not None:
            return advertise.replace("{port}", str(bound[0] if bound else 0))
        return katib_address(experiment, algorithm, namespace)

    sessions = Sessions(state_dir, address_of)
    stores = Stores(state_dir, os.environ.get(EXPERIMENT_ENV, "").strip() or None)
    admission = Admission()  # shared: the store's calls yield to Katib's
    servicer = SuggestionServicer(
        metrics,
        sessions,
        stores,
        on_learned=on_learned,
        on_request=on_request,
        admission=admission,
    )
    pb_grpc.add_SuggestionServicer_to_server(servicer, server)
    sw_grpc.add_SharedWeightsServicer_to_server(
        SharedWeightsServicer(metrics, sessions, stores, admission), server
    )
    health_servicer = health.HealthServicer()
    for name in HEALTH_SERVICE_NAMES:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _check_free(address)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:  # grpc's way of saying the bind failed
        port = 0
    if port == 0:
        raise ServeError(f"--port: cannot listen on {address} (address in use or not allowed)")
    bound.append(port)
    server.start()
    log.info("suggestion service listening on %s (port %d)", address, port)
    return SuggestionServer(server, port, servicer, health_servicer)


def _check_free(address: str) -> None:
    """Refuse a taken port in one line: gRPC's own refusal prints a C++ log line first."""
    host, _, port_text = address.rpartition(":")
    if not port_text.isdigit() or int(port_text) == 0:
        return  # port 0 is always free; gRPC words anything else
    host = host.strip("[]") or "0.0.0.0"
    try:
        found = socket.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM)
    except OSError:
        return
    family, kind, proto, _, where = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
        try:
            probe.bind(where)
        except OSError as error:
            raise ServeError(f"--port: cannot listen on {address} ({error.strerror})") from None


def serve_forever(started: SuggestionServer, grace: float = 10.0) -> None:
    """Block until SIGTERM or SIGINT, then shut down gracefully."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Waked every half second: the kernel may hand SIGTERM to one of gRPC's threads, and then a
    # main thread blocked without a timeout never runs the handler (seen: a `serve` that ignored
    # SIGTERM after a cold start until a second one came).
    while not stop.wait(0.5):
        pass
    started.stop(grace)
