"""The Helm chart: lints, renders, and every object it renders is valid for Kubernetes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]
Run = Callable[..., subprocess.CompletedProcess[str]]
VALUE_SETS = ["defaults", "all-on"]
MONITOR_KINDS = {"PodMonitor", "ServiceMonitor", "PrometheusRule"}


def _entries(manifests: list[Manifest]) -> list[dict[str, Any]]:
    [configmap] = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-registration")
    ]
    entries: list[dict[str, Any]] = json.loads(configmap["data"]["entries.json"])
    return entries


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict_passes(
    helm: str, chart_dir: Path, value_set: str, chart_values: dict[str, list[str]], run_tool: Run
) -> None:
    values = chart_values[value_set]
    # `helm lint` has no --api-versions: it lints every template except the guarded monitors,
    # which the rendering tests below cover.
    while "--api-versions" in values:
        at = values.index("--api-versions")
        values = values[:at] + values[at + 2 :]
    result = run_tool([helm, "lint", "--strict", str(chart_dir), *values])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_object_is_valid(
    render: Render,
    value_set: str,
    chart_values: dict[str, list[str]],
    validate_kubernetes: Callable[[Manifest], None],
    validate_prometheus_operator: Callable[[list[Manifest]], list[str]],
) -> None:
    manifests = render(*chart_values[value_set])
    monitors = [m for m in manifests if m["kind"] in MONITOR_KINDS]
    for manifest in manifests:
        if manifest["kind"] not in MONITOR_KINDS:
            validate_kubernetes(manifest)
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "katib-enas", manifest["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == "enas"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
    assert validate_prometheus_operator(monitors) == []
    expected = {"PodMonitor", "PrometheusRule"} if value_set == "all-on" else set()
    assert sorted(m["kind"] for m in monitors) == sorted(expected)


def test_prometheus_operator_validator_rejects_a_broken_podmonitor(
    render: Render,
    chart_values: dict[str, list[str]],
    validate_prometheus_operator: Callable[[list[Manifest]], list[str]],
) -> None:
    [monitor] = [m for m in render(*chart_values["all-on"]) if m["kind"] == "PodMonitor"]
    monitor["spec"]["podMetricsEndpoints"][0]["port"] = 8000  # must be a port name
    [error] = validate_prometheus_operator([monitor])
    assert "port" in error


def test_podmonitor_needs_the_crd_and_carries_the_selector_labels(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    all_on = chart_values["all-on"]
    without_crd = [a for a in all_on if "monitoring.coreos.com" not in a and a != "--api-versions"]
    assert not [m for m in render(*without_crd) if m["kind"] == "PodMonitor"]
    [monitor] = [m for m in render(*all_on) if m["kind"] == "PodMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    entry_ports = {p["name"]: p["containerPort"] for p in _entries(render())[0]["ports"]}
    assert endpoint["port"] in entry_ports


def test_registered_entries_have_limits_and_leave_port_6789_to_katib(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    assert [e["algorithmName"] for e in _entries(render())] == ["enas-torch"]
    entries = _entries(render(*chart_values["all-on"]))
    assert [e["algorithmName"] for e in entries] == ["enas-torch", "enas"]
    for entry in entries:
        for kind in ("requests", "limits"):
            assert set(entry["resources"][kind]) >= {"cpu", "memory"}, entry["algorithmName"]
        assert entry["resources"]["limits"]["memory"] not in ("100Mi", "")
        ports = entry.get("ports", [])
        assert 6789 not in [p["containerPort"] for p in ports]
        assert "suggestion-api" not in [p["name"] for p in ports]
        assert entry["persistentVolumeClaimSpec"]["resources"]["requests"]["storage"]
        assert entry["persistentVolumeClaimSpec"]["storageClassName"] == "standard"
        assert entry["serviceAccountName"] == "enas-suggestion"
        assert entry["volumeMountPath"] == "/opt/katib/data"
        security = entry["securityContext"]
        assert security["runAsNonRoot"] and not security["allowPrivilegeEscalation"]
        assert security["capabilities"]["drop"] == ["ALL"]


def test_registered_entry_is_a_valid_katib_suggestion_container(
    render: Render,
    chart_values: dict[str, list[str]],
    katib_schema: Callable[[str, Any], list[str]],
) -> None:
    # Katib inlines a core/v1 Container into each entry (plus its volume settings).
    for entry in _entries(render(*chart_values["all-on"])):
        container = dict(entry)
        pvc = container.pop("persistentVolumeClaimSpec")
        for key in ("algorithmName", "serviceAccountName", "volumeMountPath"):
            container.pop(key)
        container["name"] = "suggestion"  # Katib sets it; the schema requires it
        assert katib_schema("io.k8s.api.core.v1.Container", container) == []
        assert katib_schema("io.k8s.api.core.v1.PersistentVolumeClaimSpec", pvc) == []


def test_values_schema_rejects_unknown_and_unsafe_values(
    helm: str, chart_dir: Path, run_tool: Run
) -> None:
    for bad, field in [
        (["--set", "imagee.tag=x"], "imagee"),
        (["--set", "suggestion.resources.limitz.cpu=1"], "limitz"),
        (["--set", "suggestion.metricsPort=6789"], "metricsPort"),
        (["--set", "algorithm.name=ENAS_Torch"], "name"),
        (["--set", "algorithm.name=a-very-long-algorithm-name"], "name"),
    ]:
        result = run_tool([helm, "template", "x", str(chart_dir), *bad])
        assert result.returncode != 0, bad
        assert field in result.stderr, result.stderr


def test_registration_rbac_is_least_privilege(render: Render) -> None:
    manifests = render()
    [role] = [m for m in manifests if m["kind"] == "Role"]
    assert role["metadata"]["namespace"] == "kubeflow"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["katib-config"],
            "verbs": ["get", "update"],
        }
    ]
    assert not [m for m in manifests if m["kind"].startswith("Cluster")]
    [binding] = [m for m in manifests if m["kind"] == "RoleBinding"]
    [account] = [m for m in manifests if m["kind"] == "ServiceAccount"]
    assert binding["subjects"][0]["name"] == account["metadata"]["name"]
    assert binding["subjects"][0]["namespace"] == "katib-enas"


def test_registration_jobs_are_hooks_that_run_locked_down(render: Render) -> None:
    jobs = {m["metadata"]["name"]: m for m in render() if m["kind"] == "Job"}
    assert jobs.keys() == {"enas-katib-enas-register", "enas-katib-enas-unregister"}
    hooks = {name: job["metadata"]["annotations"]["helm.sh/hook"] for name, job in jobs.items()}
    assert hooks["enas-katib-enas-register"] == "post-install,post-upgrade"
    assert hooks["enas-katib-enas-unregister"] == "pre-delete"
    for job in jobs.values():
        pod = job["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        [container] = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert set(container["resources"]["limits"]) == {"cpu", "memory"}


def test_registration_jobs_pull_with_the_image_pull_secrets(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    for job in (m for m in render(*chart_values["all-on"]) if m["kind"] == "Job"):
        assert job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    for job in (m for m in render() if m["kind"] == "Job"):
        assert "imagePullSecrets" not in job["spec"]["template"]["spec"]
