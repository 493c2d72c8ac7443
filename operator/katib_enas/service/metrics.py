"""Prometheus metrics of the suggestion service, on their own port.

Base units, `_total` counters, `_seconds` histograms, a `_build_info` gauge; no trial names or
architectures in labels (Katib runs one service per experiment, so the pod identifies it).
Each server gets its own registry so that several can live in one process (tests, local runs).
"""

from __future__ import annotations

import platform

import torch
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from katib_enas import __version__
from katib_enas.core.errors import ServeError
from katib_enas.core.katib import Condition
from katib_enas.core.strategies import LearnReport

PREFIX = "katib_enas"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServiceMetrics:
    """Every metric the service exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
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
        self.suggestions = Counter(
            f"{PREFIX}_suggestions", "Architectures handed out to Katib", registry=r
        )
        self.trials = Gauge(
            f"{PREFIX}_trials",
            "Trials in the latest request, by Katib condition",
            ["condition"],
            registry=r,
        )
        self._learning_metrics(r)
        build = Gauge(
            f"{PREFIX}_build_info",
            "Build information (always 1)",
            ["version", "python_version", "torch_version"],
            registry=r,
        )
        build.labels(__version__, platform.python_version(), torch.__version__).set(1)
        for condition in Condition:
            self.trials.labels(condition.katib_name)

    def _learning_metrics(self, r: CollectorRegistry) -> None:
        self.updates = Counter(
            f"{PREFIX}_controller_updates", "REINFORCE updates of the controller", registry=r
        )
        self.replays = Counter(
            f"{PREFIX}_controller_replays",
            "Times the controller was rebuilt from the whole trial history",
            registry=r,
        )
        self.update_duration = Histogram(
            f"{PREFIX}_controller_update_duration_seconds",
            "Time spent learning from newly finished trials, per request that learned",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.latest_reward = Gauge(
            f"{PREFIX}_latest_reward", "Reward of the latest trial learned from", registry=r
        )
        self.baseline = Gauge(
            f"{PREFIX}_reward_baseline", "Moving-average reward baseline", registry=r
        )
        self.entropy = Gauge(
            f"{PREFIX}_policy_entropy_nats",
            "Entropy of the latest learned architecture",
            registry=r,
        )
        self.loss = Gauge(
            f"{PREFIX}_policy_loss", "Controller loss of the latest update", registry=r
        )
        self.best = Gauge(
            f"{PREFIX}_best_objective_value", "Best objective metric value among trials", registry=r
        )

    def record_learning(self, report: LearnReport) -> None:
        for condition in Condition:
            self.trials.labels(condition.katib_name).set(report.counts.get(condition, 0))
        if report.replayed:
            self.replays.inc()
        if report.updates:
            self.updates.inc(report.updates)
            self.update_duration.observe(report.seconds)
        for gauge, value in (
            (self.latest_reward, report.last_reward),
            (self.baseline, report.baseline),
            (self.entropy, report.entropy),
            (self.loss, report.loss),
            (self.best, report.best_metric),
        ):
            if value is not None:
                gauge.set(value)

    def serve(self, port: int, host: str = "0.0.0.0") -> int:
        """Start the `/metrics` HTTP endpoint; return the bound port."""
        try:
            server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise ServeError(
                f"--metrics-port: cannot listen on {host}:{port} ({error.strerror})"
            ) from None
        return int(server.server_port)
