"""Fixtures for the packaging tests: the real tools, rendered charts and the schema validators.

Everything here runs the real binaries (`helm`, `kubectl`, `node`) that `scripts/install-tools.sh`
puts in `.tools/`, and validates against real schemas: Katib's OpenAPI spec (in
`tests/fixtures/katib`), Kubernetes' own (kubernetes-validate) and prometheus-operator's
(compiled into an npm package). A missing tool fails the tests instead of skipping them.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pod_sandbox
import pytest
import yaml
from katib_openapi import schema_checker

KUBERNETES_VERSION = "1.34"  # the newest version Katib v0.19's CI tests
PROMETHEUS_OPERATOR_KINDS = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}
# Everything optional switched on, and a cluster that serves PodMonitors.
ALL_ON = [
    "--set", "algorithm.takeoverEnas=true",
    "--set", "monitoring.podMonitor.enabled=true",
    "--set", "monitoring.podMonitor.labels.release=kube-prometheus-stack",
    "--set", "suggestion.serviceAccountName=enas-suggestion",
    "--set", "suggestion.persistence.storageClassName=standard",
    "--set", "suggestion.env[0].name=KATIB_ENAS_LOG_FORMAT",
    "--set", "suggestion.env[0].value=json",
    "--set", "registration.nodeSelector.kubernetes\\.io/os=linux",
    "--set", "imagePullSecrets[0].name=regcred",
    "--set", "monitoring.podMonitor.honorLabels=true",
    "--set", "monitoring.podMonitor.metricRelabelings[0].action=drop",
    "--set", "monitoring.podMonitor.metricRelabelings[0].sourceLabels[0]=__name__",
    "--set", "monitoring.podMonitor.metricRelabelings[0].regex=python_gc_.*",
    "--set", "monitoring.podMonitor.relabelings[0].targetLabel=cluster",
    "--set", "monitoring.podMonitor.relabelings[0].replacement=lab",
    "--set", "monitoring.prometheusRule.enabled=true",
    "--set", "monitoring.prometheusRule.labels.release=kube-prometheus-stack",
    "--set", "monitoring.prometheusRule.additionalRuleLabels.team=ml",
    "--set", "monitoring.grafanaDashboard.enabled=true",
    "--set", "monitoring.grafanaDashboard.namespace=monitoring",
    "--set", "monitoring.grafanaDashboard.annotations.grafana_folder=Kubeflow",
    "--set", "networkPolicy.enabled=true",
    "--set", "networkPolicy.experiments[0].name=enas-cpu-smoke",
    "--set", "networkPolicy.experiments[1].name=enas-macro-cifar10",
    "--set", "networkPolicy.experiments[1].namespace=team-a",
    "--set", "networkPolicy.prometheus.podLabels.app\\.kubernetes\\.io/name=prometheus",
    "--set", "networkPolicy.additionalIngress[0].ports[0].port=15008",
    "--api-versions", "monitoring.coreos.com/v1/PodMonitor",
    "--api-versions", "monitoring.coreos.com/v1/PrometheusRule",
]  # fmt: skip

Manifest = dict[str, Any]


def _tool(repo_root: Path, name: str) -> str:
    local = repo_root / ".tools" / "bin" / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: run `bash scripts/install-tools.sh` (make test does)")
    return found


@pytest.fixture(scope="session")
def helm(repo_root: Path) -> str:
    return _tool(repo_root, "helm")


@pytest.fixture(scope="session")
def kubectl(repo_root: Path) -> str:
    return _tool(repo_root, "kubectl")


@pytest.fixture(scope="session")
def chart_dir(repo_root: Path) -> Path:
    return repo_root / "helm" / "katib-enas"


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a tool; the result carries stdout/stderr as text for the assertion messages."""
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=120, **kwargs
    )


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_tool() -> Run:
    """`run` for test modules (with --import-mode=importlib they cannot import this file)."""
    return run


@pytest.fixture(scope="session")
def chart_values() -> dict[str, list[str]]:
    """`helm` value flags by name: the defaults, and every optional part switched on."""
    return {"defaults": [], "all-on": list(ALL_ON)}


@pytest.fixture(scope="session")
def prometheus_operator_kinds() -> set[str]:
    return set(PROMETHEUS_OPERATOR_KINDS)


@pytest.fixture(scope="session")
def render(helm: str, chart_dir: Path) -> Callable[..., list[Manifest]]:
    cache: dict[tuple[str, ...], list[Manifest]] = {}

    def _render(*args: str) -> list[Manifest]:
        if args not in cache:
            result = run(
                [helm, "template", "enas", str(chart_dir), "--namespace", "katib-enas", *args]
            )
            assert result.returncode == 0, result.stderr
            cache[args] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return copy.deepcopy(cache[args])

    return _render


@pytest.fixture(scope="session")
def validate_kubernetes() -> Callable[[Mapping[str, Any]], None]:
    """Strict validation against the Kubernetes schemas (unknown keys are errors)."""

    def _validate(manifest: Mapping[str, Any]) -> None:
        try:
            kubernetes_validate.validate(dict(manifest), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(part) for part in error.path)
            name = manifest.get("metadata", {}).get("name")
            pytest.fail(f"{manifest.get('kind')} {name}: {where}: {error.message}")

    return _validate


@pytest.fixture(scope="session")
def katib_schema(katib_dir: Path) -> Callable[[str, Any], list[str]]:
    """Errors of a value against a schema of Katib's OpenAPI spec, unknown keys rejected."""
    return schema_checker(katib_dir)


@pytest.fixture(scope="session")
def validate_prometheus_operator(
    repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[list[Manifest]], list[str]]:
    """Errors per object from prometheus-operator's schemas (the npm models' validators)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found (needed to run prometheus-operator's schema validators)")
    models = repo_root / ".tools" / "node" / "node_modules" / "@kubernetes-models"
    if not (models / "prometheus-operator").is_dir():
        pytest.fail("prometheus-operator models missing: run `bash scripts/install-tools.sh`")
    script = Path(__file__).with_name("validate_prometheus_operator.mjs")
    folder = tmp_path_factory.mktemp("prometheus-operator")

    def _validate(manifests: list[Manifest]) -> list[str]:
        path = folder / "objects.json"
        path.write_text(json.dumps(manifests))
        result = run([node, str(script), str(path)], env={**os.environ, "MODELS": str(models)})
        assert result.returncode in (0, 1), result.stderr
        return [line for line in result.stdout.splitlines() if line]

    return _validate


@pytest.fixture
def free_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    yield port


@pytest.fixture(scope="session")
def pod_sandbox_ready() -> None:
    """Skip (saying why) where the kernel or the user cannot build a pod sandbox; CI runs as
    root, where it can."""
    reason = pod_sandbox.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
