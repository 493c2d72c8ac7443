"""The pods Katib makes from our manifests, as pod-sandbox `Pod`s (see `pod_sandbox`).

- the suggestion pod: Katib's composer turns a katib-config `runtime.suggestions` entry into a
  container (the image's ENTRYPOINT with the entry's `args`, the entry's `env`, and under
  `resumePolicy: FromVolume` the experiment's volume at `volumeMountPath`; nothing else is
  writable);
- a trial pod: the Experiment's trial spec after Katib's substitution, with the primary container
  rewritten as Katib's pod webhook rewrites it for the StdOut collector and its metrics emptyDir
  at /var/log/katib.

The sandbox shares this machine's network, so the fixed ports 6789 and 8000 become free ones.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pod_sandbox
from grpc_health.v1 import health_pb2, health_pb2_grpc

from katib_enas.katib_api import pb_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # the image's /opt/venv/bin
METRICS_DIR = "/var/log/katib"  # Katib's metrics-collector volume (an emptyDir)
PROBE_SERVICE = "manager.v1beta1.Suggestion"  # the name Katib's readiness probe asks for
POD_NAMESPACE = "katib-enas"  # the namespace sandboxed pods play to be in (downward API)


def image(dockerfile: str) -> pod_sandbox.ImageConfig:
    return pod_sandbox.ImageConfig.from_dockerfile(REPO_ROOT / dockerfile, venv_bin=VENV_BIN)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Suggestion:
    """A sandboxed suggestion pod with a client channel."""

    process: subprocess.Popen[str]
    port: int
    metrics_port: int
    channel: grpc.Channel
    stub: Any  # pb_grpc.SuggestionStub
    log_path: Path

    def metric(self, name: str) -> float | None:
        """The sum of a family's series (over its experiments), None when it has none."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            values = [
                float(line.rsplit(" ", 1)[1])
                for line in response.read().decode().splitlines()
                if line.startswith((name + " ", name + "{"))
            ]
        return sum(values) if values else None

    def logs(self) -> str:
        """Everything it printed; call after the `serve` block (it has been stopped by then)."""
        output = self.log_path.read_text()
        assert self.process.returncode == 0, output  # SIGTERM: a graceful exit
        return output


_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9}


def container_env(
    container: Mapping[str, Any],
    *,
    namespace: str = POD_NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A container's environment as the kubelet sets it: plain values, the downward API's
    `fieldRef` to the pod's namespace or one of its `labels`, and its `resourceFieldRef` to the
    container's own limits (memory in bytes, as with divisor 1)."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        if "fieldRef" in item["valueFrom"]:
            path = item["valueFrom"]["fieldRef"]["fieldPath"]
            label = re.fullmatch(r"metadata\.labels\['(.+)'\]", path)
            if label is not None:
                env[item["name"]] = (labels or {}).get(label.group(1), "")  # absent: empty
                continue
            assert path == "metadata.namespace", f"not emulated: {path}"
            env[item["name"]] = namespace
            continue
        field = item["valueFrom"]["resourceFieldRef"]["resource"]
        assert field == "limits.memory", f"not emulated: {field}"
        quantity = str(container["resources"]["limits"]["memory"])
        number, unit = re.fullmatch(r"([0-9]+)([KMG]i?)?", quantity).groups()  # type: ignore[union-attr]
        env[item["name"]] = str(int(number) * _UNITS[unit or ""])
    return env


def suggestion_pod(
    entry: Mapping[str, Any],
    *,
    port: int,
    metrics_port: int,
    uid: int | None = None,
    volume: Path | pod_sandbox.Volume | None = None,
) -> pod_sandbox.Pod:
    config = image("operator/Dockerfile")
    args = [
        f"--port={port}" if a == "--port=6789" else a.replace("8000", str(metrics_port))
        for a in entry["args"]
    ]
    assert f"--port={port}" in args and f"--metrics-port={metrics_port}" in args, args
    env = dict(config.env) | container_env(entry)
    context = entry["securityContext"]
    if isinstance(volume, Path):
        volume = pod_sandbox.Volume(entry["volumeMountPath"], volume)
    volumes = [volume] if volume is not None else []
    return pod_sandbox.Pod(
        pod_sandbox.resolve([*config.entrypoint, *args], env["PATH"]),
        env,
        config.workdir,
        uid=context["runAsUser"] if uid is None else uid,
        gid=context["runAsGroup"],
        volumes=volumes,
        image_dirs=config.made_dirs,
    )


@contextmanager
def serve(
    entry: Mapping[str, Any],
    stage: Path,
    *,
    uid: int | None = None,
    volume: Path | pod_sandbox.Volume | None = None,
) -> Iterator[Suggestion]:
    """Start the suggestion pod, wait until its probe answers SERVING, stop it with SIGTERM."""
    port, metrics_port = free_port(), free_port()
    pod = suggestion_pod(entry, port=port, metrics_port=metrics_port, uid=uid, volume=volume)
    log_path = stage.with_name(stage.name + ".log")
    with log_path.open("w") as log:
        process = pod_sandbox.start(pod, stage, stdout=log, stderr=subprocess.STDOUT)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        health = health_pb2_grpc.HealthStub(channel)
        probe = health_pb2.HealthCheckRequest(service=PROBE_SERVICE)
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                status = health.Check(probe, timeout=1).status  # the kubelet probe's timeout
                assert status == health_pb2.HealthCheckResponse.SERVING
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, "the service never answered its probe"
                time.sleep(0.2)
        stub = pb_grpc.SuggestionStub(channel)
        yield Suggestion(process, port, metrics_port, channel, stub, log_path)
    finally:
        channel.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def katib_wrap(words: list[str]) -> list[str]:
    """Katib's StdOut rewrite of the primary container (Kubernetes has turned `$$$$` into `$$`)."""
    line = " ".join(words)
    return ["sh", "-c", f"{line} 1>{METRICS_DIR}/metrics.log 2>&1 && echo completed > "
            f"{METRICS_DIR}/$$.pid"]  # fmt: skip


def trial_pod(
    trial_spec: Mapping[str, Any],
    primary: str,
    folder: Path,
    *,
    uid: int | None = None,
    epochs: int | None = None,
    wrapper: list[str] | None = None,
) -> tuple[pod_sandbox.Pod, dict[str, Any]]:
    """The CPU trial pod of a rendered trial spec; its emptyDirs become folders in `folder`.

    `epochs` replaces `--num_epochs`; `wrapper` goes in front of the shell (a measuring tool).
    """
    pod_spec = trial_spec["spec"]["template"]["spec"]
    [container] = [c for c in pod_spec["containers"] if c["name"] == primary]
    words = [str(w) for w in container["command"] + container.get("args", [])]
    if epochs is not None:
        words = [f"--num_epochs={epochs}" if w.startswith("--num_epochs") else w for w in words]
    config = image("trial_image/Dockerfile.cpu")
    env = dict(config.env) | container_env(container)
    volumes = [pod_sandbox.Volume(METRICS_DIR, folder / "katib-metrics")]
    sources = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        assert "emptyDir" in sources[mount["name"]], "only emptyDir volumes are emulated here"
        volumes.append(pod_sandbox.Volume(mount["mountPath"], folder / mount["name"]))
    for volume in volumes:
        volume.host_path.mkdir(parents=True)
        volume.host_path.chmod(0o1777)  # emptyDirs are world-writable
    security = pod_spec.get("securityContext", {})
    pod = pod_sandbox.Pod(
        [*(wrapper or []), *pod_sandbox.resolve(katib_wrap(words), env["PATH"])],
        env,
        config.workdir,
        uid=uid if uid is not None else security.get("runAsUser", config.user),
        gid=security.get("runAsGroup", 0),
        volumes=volumes,
        image_dirs=config.made_dirs,
    )
    return pod, container
