"""Test support: `katib-enas serve` as a real subprocess on loopback, for load, fault and
monitoring tests; `running_serve` adds a Katib-side client and a metrics port."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_server import free_port

from katib_enas.katib_api import pb_grpc

KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")
MEMORY_LIMIT = 1 << 30  # what the chart passes from a 1Gi limit


class ServeProcess:
    """Start with `start()`; `kill()` is kill -9, `stop()` a graceful SIGTERM."""

    def __init__(
        self,
        state_dir: Path | None,
        log: Path,
        port: int | None = None,
        metrics_port: int = 0,
    ) -> None:
        self.port = port or free_port()
        self.metrics_port = metrics_port
        self.state_dir = state_dir
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *extra: str) -> ServeProcess:
        command = [
            KATIB_ENAS, "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--metrics-port", str(self.metrics_port),
            *(("--state-dir", str(self.state_dir)) if self.state_dir else ()),
            *extra,
        ]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                assert self.process.poll() is None, self.log.read_text()
                try:
                    health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    return self
                except grpc.RpcError:
                    assert time.monotonic() < deadline, "serve never became healthy"
                    time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@dataclass
class Serve:
    """A running `katib-enas serve` and a client of it, as Katib's controller holds one."""

    process: subprocess.Popen[bytes]
    metrics_target: str  # host:port of /metrics
    log: Path
    channel: grpc.Channel
    suggestion: Any  # pb_grpc.SuggestionStub


@contextmanager
def running_serve(workdir: Path) -> Iterator[Serve]:
    """`katib-enas serve` with its metrics on a free port and a 1 GiB memory limit, stopped with
    SIGTERM at the end."""
    serve = ServeProcess(workdir / "no-volume", workdir / "serve.log", metrics_port=free_port())
    serve.start("--memory-limit", str(MEMORY_LIMIT))
    assert serve.process is not None
    channel = grpc.insecure_channel(serve.address)
    try:
        target = f"127.0.0.1:{serve.metrics_port}"
        yield Serve(serve.process, target, serve.log, channel, pb_grpc.SuggestionStub(channel))
    finally:
        channel.close()
        serve.stop()
