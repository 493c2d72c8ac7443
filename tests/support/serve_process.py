"""`katib-enas serve` as a real subprocess on a free loopback port, for load and fault tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """Start with `start()`; `kill()` is kill -9, `stop()` a graceful SIGTERM."""

    def __init__(self, state_dir: Path | None, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.state_dir = state_dir
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *extra: str) -> ServeProcess:
        command = [
            str(Path(sys.executable).with_name("katib-enas")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--metrics-port",
            "0",
            *(("--state-dir", str(self.state_dir)) if self.state_dir else ()),
            *extra,
        ]
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
