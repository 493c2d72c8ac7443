"""Test support: `katib-enas serve` as a real subprocess on loopback, with a Katib-side client."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from prometheus_server import free_port

from katib_enas.katib_api import pb_grpc

KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")
MEMORY_LIMIT = 1 << 30  # what the chart passes from a 1Gi limit


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
    port, metrics_port = free_port(), free_port()
    log = workdir / "serve.log"
    command = [
        KATIB_ENAS, "serve", "--host", "127.0.0.1", "--port", str(port),
        "--metrics-port", str(metrics_port), "--memory-limit", str(MEMORY_LIMIT),
        "--state-dir", str(workdir / "no-volume"),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=60)
        target = f"127.0.0.1:{metrics_port}"
        yield Serve(process, target, log, channel, pb_grpc.SuggestionStub(channel))
    finally:
        channel.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
