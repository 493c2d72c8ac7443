"""The chart's registration hook Jobs as their pods run them: read-only root, UID 1000 (and an
OpenShift UID) in group 0, the registration ConfigMap and the service-account token mounted
read-only, and Kubernetes' API reached the in-cluster way (`KUBERNETES_SERVICE_HOST/PORT`, the
token, the CA). The API is a stand-in on loopback (there is no cluster here) that answers only
what the chart's Role allows, with the API's conflict rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import katib_pods
import pod_sandbox
import pytest
import yaml
from kube_standin import ApiState, StandIn, kube_api

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("pod_sandbox_ready")]
Manifest = dict[str, Any]
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def _stock_configmap(katib_dir: Path) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "katib-config", "namespace": "kubeflow", "resourceVersion": "7"},
        "data": {"katib-config.yaml": (katib_dir / "katib-config.yaml").read_text()},
    }


def _algorithms(configmap: dict[str, Any]) -> list[str]:
    config = yaml.safe_load(configmap["data"]["katib-config.yaml"])
    return [s["algorithmName"] for s in config["runtime"]["suggestions"]]


def _job_pod(
    manifests: list[Manifest], action: str, files: Path, api: StandIn, uid: int | None
) -> pod_sandbox.Pod:
    [job] = [
        m
        for m in manifests
        if m["kind"] == "Job" and m["metadata"]["labels"]["app.kubernetes.io/component"] == action
    ]
    spec = job["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    [mount] = container["volumeMounts"]
    assert mount["readOnly"] is True
    image = katib_pods.image("operator/Dockerfile")
    env = dict(image.env) | {
        # What the kubelet injects into every container.
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(api.port),
    }
    return pod_sandbox.Pod(
        pod_sandbox.resolve(container["command"] + container.get("args", []), env["PATH"]),
        env,
        image.workdir,
        uid=uid if uid is not None else spec["securityContext"]["runAsUser"],
        gid=spec["securityContext"]["runAsGroup"],
        volumes=[
            pod_sandbox.Volume(mount["mountPath"], files, read_only=True),
            pod_sandbox.Volume(SERVICE_ACCOUNT_DIR, api.service_account_dir, read_only=True),
        ],
        image_dirs=image.made_dirs,
    )


@pytest.mark.parametrize("uid", [None, pod_sandbox.OPENSHIFT_UID], ids=["pod-uid", "openshift"])
def test_register_then_unregister_through_the_api_on_a_read_only_root(
    uid: int | None,
    render: Callable[..., list[Manifest]],
    katib_dir: Path,
    tmp_path: Path,
) -> None:
    manifests = render("--set", "algorithm.takeoverEnas=true")
    [role] = [m for m in manifests if m["kind"] == "Role"]
    allowed = {
        (verb, name)
        for rule in role["rules"]
        for verb in rule["verbs"]
        for name in rule["resourceNames"]
    }
    [files] = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-registration")
    ]
    mounted = tmp_path / "registration"
    mounted.mkdir()
    for name, text in files["data"].items():
        (mounted / name).write_text(text)
        (mounted / name).chmod(0o644)
    mounted.chmod(0o755)
    state = ApiState(token=secrets.token_hex(16), allowed=allowed)
    stock = _stock_configmap(katib_dir)
    state.configmaps[("kubeflow", "katib-config")] = stock
    before = _algorithms(stock)
    with kube_api(tmp_path / "api", state, namespace="katib-enas") as api:
        for action in ("register", "register", "unregister"):  # an upgrade re-runs register
            pod = _job_pod(manifests, action, mounted, api, uid)
            result = pod_sandbox.run(pod, tmp_path / f"stage-{len(state.requests)}", timeout=120)
            assert result.returncode == 0, result.stdout
            assert "Traceback" not in result.stdout
            current = state.get("kubeflow", "katib-config")
            if action == "register":
                names = _algorithms(current)
                assert names.count("enas-torch") == 1 and names.count("enas") == 1, names
                assert "register: enas-torch, enas in kubeflow/katib-config" in result.stdout
    after = state.get("kubeflow", "katib-config")
    assert _algorithms(after) == before
    config = "katib-config.yaml"
    assert yaml.safe_load(after["data"][config]) == yaml.safe_load(stock["data"][config])
    assert {code for _, _, code in state.requests} == {200}  # nothing forbidden was tried
