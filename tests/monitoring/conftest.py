"""Fixtures of the monitoring tests: a real `katib-enas serve` process driven over gRPC as Katib
drives it, and real Prometheus servers on loopback scraping it (Debian's `prometheus`; a missing
binary fails the tests, see tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_server import Prometheus, scrape_config
from serve_process import Serve, running_serve

from katib_enas.experiment import load_experiment
from katib_enas.local.requests import experiment_message

JOB = "katib-enas"  # the job name of the README's scrape config and of the plain rules file


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with running_serve(tmp_path) as running:
        yield running


@pytest.fixture
def start_prometheus(prometheus_binary: str, tmp_path: Path) -> Iterator[Callable[..., Prometheus]]:
    """`start_prometheus(target, rule_files=())`: a Prometheus scraping `target` as job
    `katib-enas` every second (or `scrape_configs=[...]` as given)."""
    started: list[Prometheus] = []

    def start(
        target: str | None = None,
        *,
        rule_files: Sequence[Path] = (),
        scrape_configs: Sequence[dict[str, Any]] | None = None,
    ) -> Prometheus:
        configs = (
            scrape_configs if scrape_configs is not None else [scrape_config(JOB, target or "")]
        )
        server = Prometheus(
            prometheus_binary, tmp_path / f"prometheus-{len(started)}", configs, rule_files
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def cpu_experiment(katib_examples: Path) -> Any:
    """Katib's stock `enas-cpu.yaml` as the `api.v1.beta1.Experiment` Katib sends."""
    return experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))


@pytest.fixture(scope="session")
def rules_file(repo_root: Path) -> Path:
    return repo_root / "helm" / "katib-enas" / "rules" / "katib-enas.rules.yaml"


@pytest.fixture(scope="session")
def dashboard_file(repo_root: Path) -> Path:
    return repo_root / "helm" / "katib-enas" / "dashboards" / "katib-enas.json"


@pytest.fixture(autouse=True)
def _no_proxy() -> Iterator[None]:
    # Prometheus' API is on loopback: never route it through a proxy the machine may set.
    saved = {k: os.environ.pop(k) for k in ("http_proxy", "HTTP_PROXY") if k in os.environ}
    yield
    os.environ.update(saved)
