"""Fixtures for the service tests: a running server and Katib's stock experiments as protobuf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpc_service import Running, connect

from katib_enas.experiment import load_experiment
from katib_enas.local.requests import experiment_message


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Running]:
    running = connect(tmp_path / "state")
    yield running
    running.channel.close()
    running.server.stop(0)


@pytest.fixture(scope="session")
def gpu_experiment(katib_examples: Path) -> Any:
    """Katib's stock `enas-gpu.yaml` as the `api.v1.beta1.Experiment` Katib sends."""
    return experiment_message(load_experiment(katib_examples / "enas-gpu.yaml"))


@pytest.fixture(scope="session")
def cpu_experiment(katib_examples: Path) -> Any:
    return experiment_message(load_experiment(katib_examples / "enas-cpu.yaml"))
