"""`katib-enas serve` as a user runs it: a taken port is one clear line and exit 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

KATIB_ENAS = str(Path(sys.executable).parent / "katib-enas")


@pytest.mark.parametrize("flag", ["--port", "--metrics-port"])
def test_a_taken_port_is_a_one_line_error(flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--port": "0", "--metrics-port": "0", flag: str(port)}
        result = subprocess.run(
            [KATIB_ENAS, "serve", "--host", "127.0.0.1", *(x for kv in ports.items() for x in kv)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"katib-enas serve: error: {flag}: cannot listen on"), result.stderr
    assert "Traceback" not in result.stderr
    assert "add_port" not in result.stderr  # no C++ log line from gRPC before ours


def test_a_bad_environment_value_names_the_variable() -> None:
    result = subprocess.run(
        [KATIB_ENAS, "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"KATIB_ENAS_PORT": "abc", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "KATIB_ENAS_PORT='abc' is not valid for --port" in result.stderr


def test_a_negative_memory_limit_is_bad_input() -> None:
    result = subprocess.run(
        [KATIB_ENAS, "serve", "--port", "0", "--metrics-port", "0", "--memory-limit", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "katib-enas serve: error: --memory-limit: must be >= 0 bytes" in result.stderr


def test_one_worker_is_refused_rather_than_silently_raised() -> None:
    result = subprocess.run(
        [KATIB_ENAS, "serve", "--port", "0", "--metrics-port", "0", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "katib-enas serve: error: --workers: must be at least 2" in result.stderr


def test_a_second_service_cannot_share_a_taken_grpc_port(tmp_path: Path) -> None:
    from serve_process import ServeProcess

    first = ServeProcess(None, tmp_path / "first.log").start()
    try:
        result = subprocess.run(
            [KATIB_ENAS, "serve", "--host", "127.0.0.1", "--port", str(first.port),
             "--metrics-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        first.stop()
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("katib-enas serve: error: --port: cannot listen on")
    )
