"""The container images: every Dockerfile passes hadolint, and the suggestion image's own
ENTRYPOINT + CMD, run here as a plain process, answers the gRPC health check Katib's probes ask
for (service `manager.v1beta1.Suggestion`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]
SKIP_DIRS = {".venv", ".tools", ".git", "node_modules", "runs"}


def _dockerfiles() -> list[Path]:
    found = []
    for path in REPO_ROOT.rglob("Dockerfile*"):
        if path.is_file() and not SKIP_DIRS & set(path.relative_to(REPO_ROOT).parts):
            found.append(path)
    return sorted(found)


@pytest.mark.parametrize("dockerfile", _dockerfiles(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_hadolint_passes(dockerfile: Path, run_tool: Run) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = run_tool([str(hadolint), "--no-color", str(dockerfile)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_linted() -> None:
    names = {str(p.relative_to(REPO_ROOT)) for p in _dockerfiles()}
    assert "operator/Dockerfile" in names


def _final_stage_command(dockerfile: Path) -> list[str]:
    """ENTRYPOINT + CMD of the last stage, both in exec (JSON) form as Kubernetes runs them."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for line in dockerfile.read_text().splitlines():
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            entrypoint, cmd = [], []
        elif word.upper() == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif word.upper() == "CMD":
            cmd = json.loads(rest)
    return entrypoint + cmd


def test_suggestion_image_runs_as_non_root_from_group_0() -> None:
    text = (REPO_ROOT / "operator" / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]
    assert "\nUSER 1000\n" in final
    assert "--gid 0" in final and "g=u" in final
    assert "download.pytorch.org/whl/cpu torch==2.13.0" in text


@pytest.mark.slow
def test_suggestion_image_command_serves_katib_health_check(free_port: int) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    command = _final_stage_command(REPO_ROOT / "operator" / "Dockerfile")
    assert command[:2] == ["katib-enas", "serve"]
    assert command[command.index("--port") + 1] == "6789"
    # The same command with a free port instead of 6789, and no metrics port, on 127.0.0.1.
    command[command.index("--port") + 1] = str(free_port)
    command[command.index("--metrics-port") + 1] = "0"
    command[0] = str(Path(sys.executable).with_name(command[0]))
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(f"127.0.0.1:{free_port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    request = health_pb2.HealthCheckRequest(service="manager.v1beta1.Suggestion")
                    status = stub.Check(request, timeout=1).status  # the probe's 1 s timeout
                    break
                except grpc.RpcError:
                    time.sleep(0.2)
        assert status == health_pb2.HealthCheckResponse.SERVING, process.poll()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
