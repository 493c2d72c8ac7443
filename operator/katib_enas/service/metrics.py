"""Prometheus metrics of the suggestion service, on their own port.

Base units, `_total` counters, `_seconds` histograms, a `_build_info` gauge; no trial names or
architectures in labels. One service may serve several experiments (the local runner, tests, a
shared `serve`), so every per-experiment series carries an `experiment` label: one experiment
can never overwrite another's values.

What a user alerting on these needs to be true:
- the RPC counters exist at 0 for every method and code the servicer answers with, from start-up,
  so that `increase(...)` sees the very first error (a series born at 1 shows no increase);
- an experiment's counters are created at 0 when it is first validated or asked for suggestions;
- an experiment's gauges are absent until they have a real value (a best loss of 0 would look
  perfect);
- process metrics (memory, CPU, file descriptors) and the container's memory limit, so that
  memory can be watched against the limit.

Each server gets its own registry so that several can live in one process (tests, local runs).
The shared-weights store's metrics (`_store_metrics`) exist for experiments that share weights.
"""

from __future__ import annotations

import logging
import platform
import threading
from collections.abc import Mapping
from wsgiref.simple_server import WSGIServer

import torch
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from katib_enas import __version__
from katib_enas.core.errors import ServeError
from katib_enas.core.katib import Condition
from katib_enas.core.sharing.store import SharedStore
from katib_enas.core.strategies import LearnReport
from katib_enas.service import web
from katib_enas.service.web import PageSource

log = logging.getLogger(__name__)

PREFIX = "katib_enas"
# The methods of Katib's Suggestion API and the status codes the servicer answers with
# (servicer.py's error mapping): their counters exist from start-up.
METHODS = ("ValidateAlgorithmSettings", "GetSuggestions", "Pull", "Push", "Sample")
CODES = ("OK", "INVALID_ARGUMENT", "UNKNOWN")
# `*_created` series would double the series count; nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Up to Katib's 60 s GetSuggestions deadline and past it; 45 s is where the latency alert starts.
_LATENCY_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1, 2.5, 5, 10, 20, 30, 45, 60, 120),
)


class ServiceMetrics:
    """Every metric the service exports."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, memory_limit_bytes: int | None = None
    ) -> None:
        self.registry = r = registry or CollectorRegistry()
        self._rpc_metrics(r)
        self._experiment_metrics(r)
        self._store_metrics(r)
        self._seen: set[str] = set()
        self._seen_lock = threading.Lock()
        self._http: WSGIServer | None = None
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        if memory_limit_bytes is not None:
            limit = Gauge(
                f"{PREFIX}_memory_limit_bytes",
                "Memory this process may use (the container's limit), to compare with "
                "process_resident_memory_bytes",
                registry=r,
            )
            limit.set(memory_limit_bytes)
        build = Gauge(
            f"{PREFIX}_build_info",
            "Build information (always 1)",
            ["version", "python_version", "torch_version"],
            registry=r,
        )
        build.labels(__version__, platform.python_version(), torch.__version__).set(1)

    def _rpc_metrics(self, r: CollectorRegistry) -> None:
        self.rpc_requests = Counter(
            f"{PREFIX}_rpc_requests",
            "gRPC calls handled, by method and status code",
            ["method", "code"],
            registry=r,
        )
        self.rpc_duration = Histogram(
            f"{PREFIX}_rpc_duration_seconds",
            "gRPC call latency, by method and status code",
            ["method", "code"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        for method in METHODS:
            for code in CODES:
                self.rpc_requests.labels(method, code)
                self.rpc_duration.labels(method, code)

    def _experiment_metrics(self, r: CollectorRegistry) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, ["experiment"], registry=r)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", doc, ["experiment"], registry=r)

        self.suggestions = counter("suggestions", "Architectures handed out to Katib")
        self.updates = counter("controller_updates", "REINFORCE updates of the controller")
        self.replays = counter(
            "controller_replays", "Times the controller was rebuilt from the whole trial history"
        )
        self.update_duration = Histogram(
            f"{PREFIX}_controller_update_duration_seconds",
            "Time spent learning from newly finished trials, per request that learned",
            ["experiment"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.trials = Gauge(
            f"{PREFIX}_trials",
            "Trials in the latest request, by Katib condition",
            ["experiment", "condition"],
            registry=r,
        )
        self.latest_reward = gauge("latest_reward", "Reward of the latest trial learned from")
        self.baseline = gauge("reward_baseline", "Moving-average reward baseline")
        self.entropy = gauge("policy_entropy_nats", "Entropy of the latest learned architecture")
        self.loss = gauge("policy_loss", "Controller loss of the latest update")
        self.best = gauge("best_objective_value", "Best objective metric value among trials")

    def _store_metrics(self, r: CollectorRegistry) -> None:
        self.transferred = Counter(
            f"{PREFIX}_shared_weights_transferred_bytes",
            "Tensor bytes sent to (pull) and received from (push) trials",
            ["experiment", "direction"],
            registry=r,
        )
        self.store_bytes = Gauge(
            f"{PREFIX}_shared_weights_bytes",
            "Memory the experiment's shared weights take in the service",
            ["experiment"],
            registry=r,
        )
        self.store_version = Gauge(
            f"{PREFIX}_shared_weights_version",
            "Pushes applied to the experiment's shared weights",
            ["experiment"],
            registry=r,
        )
        self.store_step = Gauge(
            f"{PREFIX}_shared_weights_global_step",
            "Training steps pushed: the position in the shared learning-rate schedule",
            ["experiment"],
            registry=r,
        )

    def record_transfer(self, experiment: str, direction: str, size: int) -> None:
        self.transferred.labels(experiment, direction).inc(size)

    def record_store(self, store: SharedStore) -> None:
        self.store_bytes.labels(store.experiment).set(store.bytes)
        self.store_version.labels(store.experiment).set(store.version)
        self.store_step.labels(store.experiment).set(store.global_step)

    def watch(self, experiment: str) -> None:
        """Create an experiment's counters at 0 (idempotent), before anything is counted."""
        with self._seen_lock:
            if experiment in self._seen:
                return
            self._seen.add(experiment)
        for family in (self.suggestions, self.updates, self.replays):
            family.labels(experiment)
        self.update_duration.labels(experiment)

    def record_rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc_requests.labels(method, code).inc()
        self.rpc_duration.labels(method, code).observe(seconds)

    def record_request(self, experiment: str, report: LearnReport, suggested: int) -> None:
        """What one GetSuggestions call learned and handed out."""
        self.watch(experiment)
        for condition in Condition:
            count = report.counts.get(condition, 0)
            self.trials.labels(experiment, condition.katib_name).set(count)
        if report.replayed:
            self.replays.labels(experiment).inc()
        if report.updates:
            self.updates.labels(experiment).inc(report.updates)
            self.update_duration.labels(experiment).observe(report.seconds)
        self.suggestions.labels(experiment).inc(suggested)
        for gauge, value in (
            (self.latest_reward, report.last_reward),
            (self.baseline, report.baseline),
            (self.entropy, report.entropy),
            (self.loss, report.loss),
            (self.best, report.best_metric),
        ):
            if value is not None:
                gauge.labels(experiment).set(value)

    def serve(
        self, port: int, host: str = "0.0.0.0", pages: Mapping[str, PageSource] | None = None
    ) -> int:
        """Start the `/metrics` HTTP endpoint, with `pages` beside it; return the bound port."""
        try:
            server = web.start(host, port, self.registry, pages or {})
        except OSError as error:
            raise ServeError(
                f"--metrics-port: cannot listen on {host}:{port} ({error.strerror})"
            ) from None
        self._http = server
        bound = int(server.server_port)
        log.info("Prometheus metrics on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        """Stop the `/metrics` endpoint, if `serve` started one."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
