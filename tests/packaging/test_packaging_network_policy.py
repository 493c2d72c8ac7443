"""The suggestion pod's NetworkPolicy, from its three sources: the chart (`networkPolicy.*`),
`katib-enas networkpolicy` (a real subprocess) and the kustomize component
`manifests/network-policy` (the real `kubectl kustomize`).

Each rendered policy is validated against Kubernetes' schema, and then evaluated against the
pods Katib v0.19 really makes, with the labels written out below from Katib's source: it must
select the experiment's suggestion pod and nothing else, admit that experiment's pods, Katib's
controller and Prometheus, and refuse everyone else. `admits` applies the NetworkPolicy rules
of the Kubernetes API reference (what an enforcing CNI does); kubelet probes come from the
node, which a NetworkPolicy never blocks, so they are not modelled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]
Run = Callable[..., subprocess.CompletedProcess[str]]
KATIB_ENAS = str(Path(sys.executable).with_name("katib-enas"))
EXPERIMENT, NAMESPACE = "enas-cpu-smoke", "katib-enas"
CHART_VALUES = [
    "--set", "networkPolicy.enabled=true",
    "--set", f"networkPolicy.experiments[0].name={EXPERIMENT}",
]  # fmt: skip


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str]


# The pods of Experiment enas-cpu-smoke (algorithm enas-torch, no labels of its own), as Katib
# v0.19.0 labels them.
# The suggestion pod: composer.go (pkg/controller.v1beta1/suggestion/composer/) gives the
# Deployment's pod template util.SuggestionLabels (pkg/controller.v1beta1/util/labels.go): the
# Suggestion's labels (the Experiment's, pkg/controller.v1beta1/experiment/suggestion/
# suggestion.go) plus deployment, experiment and suggestion names and Istio's opt-out.
SUGGESTION = Pod(
    "suggestion",
    NAMESPACE,
    {
        "katib.kubeflow.org/deployment": f"{EXPERIMENT}-enas-torch",
        "katib.kubeflow.org/experiment": EXPERIMENT,
        "katib.kubeflow.org/suggestion": EXPERIMENT,
        "sidecar.istio.io/inject": "false",
    },
)
# A trial pod of a batch/v1 Job trial: the trial controller sets no pod labels; Katib's pod
# webhook (pkg/webhook/v1beta1/pod/utils.go, mutatePodMetadata) copies the Trial's labels
# (util.TrialLabels: the Experiment's plus katib.kubeflow.org/experiment) and adds
# katib.kubeflow.org/trial, in namespaces labelled katib.kubeflow.org/metrics-collector-
# injection=enabled (manifests/v1beta1/components/webhook/webhooks.yaml), for every collector
# kind. The rest are the Job controller's own.
TRIAL = Pod(
    "trial",
    NAMESPACE,
    {
        "katib.kubeflow.org/experiment": EXPERIMENT,
        "katib.kubeflow.org/trial": f"{EXPERIMENT}-x7kq2m9d",
        "batch.kubernetes.io/job-name": f"{EXPERIMENT}-x7kq2m9d",
        "batch.kubernetes.io/controller-uid": "3f1c7a52-0d52-4c4b-9b5e-5b1f0e6f2a10",
        "job-name": f"{EXPERIMENT}-x7kq2m9d",
        "controller-uid": "3f1c7a52-0d52-4c4b-9b5e-5b1f0e6f2a10",
    },
)
# Katib's own pods (manifests/v1beta1/components/{controller/controller.yaml,ui/ui.yaml}).
CONTROLLER = Pod(
    "katib-controller",
    "kubeflow",
    {"katib.kubeflow.org/component": "controller", "sidecar.istio.io/inject": "false"},
)
UI = Pod("katib-ui", "kubeflow", {"katib.kubeflow.org/component": "ui"})
PROMETHEUS = Pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
OTHER_TRIAL = Pod(
    "other experiment's trial",
    NAMESPACE,
    {**TRIAL.labels, "katib.kubeflow.org/experiment": "other"},
)
OTHER_SUGGESTION = Pod(
    "other experiment's suggestion",
    NAMESPACE,
    {
        **SUGGESTION.labels,
        "katib.kubeflow.org/experiment": "other",
        "katib.kubeflow.org/suggestion": "other",
    },
)
NOTEBOOK = Pod("notebook", NAMESPACE, {"app": "jupyter"})
NAMESAKE_TRIAL = Pod("same-named experiment's trial elsewhere", "team-b", TRIAL.labels)
FAKE_CONTROLLER = Pod("pod with the controller's labels elsewhere", NAMESPACE, CONTROLLER.labels)
# (source, port, admitted) to the suggestion pod; 6789: suggestion and shared weights, 6788:
# Katib's early-stopping container, 8000: metrics.
ACCESS = [
    (TRIAL, 6789, True),
    (TRIAL, 6788, True),
    (TRIAL, 8000, False),
    (CONTROLLER, 6789, True),
    (CONTROLLER, 6788, True),
    (CONTROLLER, 8000, False),
    (PROMETHEUS, 8000, True),
    (PROMETHEUS, 6789, False),
    (UI, 6789, False),
    (OTHER_TRIAL, 6789, False),
    (OTHER_SUGGESTION, 6789, False),
    (NOTEBOOK, 6789, False),
    (NOTEBOOK, 8000, False),
    (NAMESAKE_TRIAL, 6789, False),
    (FAKE_CONTROLLER, 6789, False),
]


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector; `{}` selects everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _namespace_labels(namespace: str) -> dict[str, str]:
    # The API server sets this label on every namespace (Kubernetes >= 1.22).
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(peer: Mapping[str, Any], source: Pod, policy_namespace: str) -> bool:
    assert "ipBlock" not in peer  # not modelled: the policies select by labels only
    namespaces = peer.get("namespaceSelector")
    if namespaces is None:  # a podSelector alone means the policy's own namespace
        in_namespace = source.namespace == policy_namespace
    else:
        in_namespace = _selects(namespaces, _namespace_labels(source.namespace))
    pods = peer.get("podSelector")
    return in_namespace and (pods is None or _selects(pods, source.labels))


def isolates(policy: Manifest, target: Pod) -> bool:
    return target.namespace == policy["metadata"]["namespace"] and _selects(
        policy["spec"]["podSelector"], target.labels
    )


def admits(policy: Manifest, source: Pod, target: Pod, port: int) -> bool:
    """Whether a TCP connection from `source` to `target`:`port` gets through `policy`."""
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    if not isolates(policy, target):
        return True
    for rule in policy["spec"].get("ingress") or []:
        ports = rule.get("ports")
        if ports and not any(
            p.get("protocol", "TCP") == "TCP" and p.get("port") == port for p in ports
        ):
            continue
        peers = rule.get("from")
        if not peers or any(
            _peer_matches(p, source, policy["metadata"]["namespace"]) for p in peers
        ):
            return True
    return False


def test_the_evaluator_follows_the_api_rules() -> None:
    """`admits` on hand-written policies whose meaning the Kubernetes docs spell out."""
    deny_all: Manifest = {
        "metadata": {"namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    assert not admits(deny_all, TRIAL, SUGGESTION, 6789)
    assert admits(deny_all, TRIAL, CONTROLLER, 6789)  # another namespace: not isolated
    open_port = {**deny_all, "spec": {**deny_all["spec"], "ingress": [{"ports": [{"port": 1}]}]}}
    assert admits(open_port, CONTROLLER, SUGGESTION, 1)
    assert not admits(open_port, CONTROLLER, SUGGESTION, 2)
    either = {"namespaceSelector": {"matchLabels": _namespace_labels("kubeflow")}}
    both = {**either, "podSelector": {"matchLabels": {"katib.kubeflow.org/component": "ui"}}}
    for peer, controller_admitted in [(either, True), (both, False)]:
        policy = {**deny_all, "spec": {**deny_all["spec"], "ingress": [{"from": [peer]}]}}
        assert admits(policy, UI, SUGGESTION, 6789)
        assert admits(policy, CONTROLLER, SUGGESTION, 6789) is controller_admitted
        assert not admits(policy, NOTEBOOK, SUGGESTION, 6789)


def _command(*args: str, run_tool: Run) -> subprocess.CompletedProcess[str]:
    return run_tool([KATIB_ENAS, "networkpolicy", *args])


def _from_command(run_tool: Run) -> Manifest:
    result = _command(EXPERIMENT, "-n", NAMESPACE, run_tool=run_tool)
    assert result.returncode == 0, result.stderr
    [policy] = [d for d in yaml.safe_load_all(result.stdout) if d]
    return dict(policy)


def _from_chart(render: Render) -> Manifest:
    [policy] = [m for m in render(*CHART_VALUES) if m["kind"] == "NetworkPolicy"]
    return policy


def _with_component(
    repo_root: Path, workdir: Path, experiments: list[Manifest], **kustomization: Any
) -> Path:
    """A kustomization holding `experiments` that uses the component from the repository."""
    workdir.mkdir(parents=True)
    (workdir / "experiments.yaml").write_text(yaml.safe_dump_all(experiments))
    component = os.path.relpath(repo_root / "manifests" / "network-policy", workdir)
    (workdir / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["experiments.yaml"],
                "components": [component],
                **kustomization,
            }
        )
    )
    return workdir


def _smoke_experiment(repo_root: Path) -> Manifest:
    path = repo_root / "manifests" / "experiments" / "enas-cpu-smoke.yaml"
    experiment: Manifest = yaml.safe_load(path.read_text())
    assert experiment["metadata"] == {"name": EXPERIMENT, "namespace": NAMESPACE}
    return experiment


def _kustomize(kubectl: str, folder: Path, run_tool: Run) -> list[Manifest]:
    result = run_tool([kubectl, "kustomize", str(folder)])
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _from_component(repo_root: Path, kubectl: str, tmp_path: Path, run_tool: Run) -> Manifest:
    folder = _with_component(repo_root, tmp_path / "with-policy", [_smoke_experiment(repo_root)])
    [policy] = [m for m in _kustomize(kubectl, folder, run_tool) if m["kind"] == "NetworkPolicy"]
    return policy


@pytest.fixture
def policies(
    render: Render, repo_root: Path, kubectl: str, tmp_path: Path, run_tool: Run
) -> dict[str, Manifest]:
    return {
        "chart": _from_chart(render),
        "command": _from_command(run_tool),
        "component": _from_component(repo_root, kubectl, tmp_path, run_tool),
    }


def test_the_three_sources_render_one_valid_policy(
    policies: dict[str, Manifest], validate_kubernetes: Callable[[Manifest], None]
) -> None:
    for policy in policies.values():
        validate_kubernetes(policy)
    chart = policies["chart"]
    assert chart["metadata"]["name"] == f"{EXPERIMENT}-suggestion-ingress"
    assert chart["metadata"]["namespace"] == NAMESPACE
    for source, policy in policies.items():
        for key in ("name", "namespace"):
            assert policy["metadata"][key] == chart["metadata"][key], source
        assert policy["metadata"]["labels"].items() <= chart["metadata"]["labels"].items()
        assert policy["spec"] == chart["spec"], source


def test_the_policy_isolates_only_the_experiments_suggestion_pod(
    policies: dict[str, Manifest],
) -> None:
    for source, policy in policies.items():
        assert isolates(policy, SUGGESTION), source
        for pod in (TRIAL, OTHER_SUGGESTION, CONTROLLER, NOTEBOOK, PROMETHEUS):
            assert not isolates(policy, pod), (source, pod.name)


@pytest.mark.parametrize(
    ("source", "port", "admitted"), ACCESS, ids=[f"{s.name}:{p}" for s, p, _ in ACCESS]
)
def test_who_reaches_the_suggestion_pod(
    policies: dict[str, Manifest], source: Pod, port: int, admitted: bool
) -> None:
    for origin, policy in policies.items():
        assert admits(policy, source, SUGGESTION, port) is admitted, origin


def test_prometheus_scrapes_the_port_the_podmonitor_scrapes(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    manifests = render(*chart_values["all-on"])
    [monitor] = [m for m in manifests if m["kind"] == "PodMonitor"]
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    [configmap] = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-registration")
    ]
    entry = yaml.safe_load(configmap["data"]["entries.json"])[0]
    [metrics_port] = [p["containerPort"] for p in entry["ports"] if p["name"] == "metrics"]
    policies = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "NetworkPolicy"}
    assert sorted(policies) == [
        "enas-cpu-smoke-suggestion-ingress",
        "enas-macro-cifar10-suggestion-ingress",
    ]
    macro = policies["enas-macro-cifar10-suggestion-ingress"]
    assert macro["metadata"]["namespace"] == "team-a"
    suggestion = Pod(
        "macro suggestion", "team-a", {"katib.kubeflow.org/suggestion": "enas-macro-cifar10"}
    )
    # all-on narrows the rule to Prometheus' own pods and adds a rule for 15008 from anywhere.
    assert admits(macro, PROMETHEUS, suggestion, metrics_port)
    assert not admits(macro, Pod("grafana", "monitoring", {}), suggestion, metrics_port)
    assert admits(macro, NOTEBOOK, suggestion, 15008)
    assert not admits(macro, NOTEBOOK, suggestion, 6789)


def test_chart_without_a_metrics_port_or_prometheus_has_no_scrape_rule(render: Render) -> None:
    for off in ("suggestion.metricsPort=0", "networkPolicy.prometheus.enabled=false"):
        [policy] = [m for m in render(*CHART_VALUES, "--set", off) if m["kind"] == "NetworkPolicy"]
        assert not admits(policy, PROMETHEUS, SUGGESTION, 8000), off
        assert admits(policy, TRIAL, SUGGESTION, 6789), off


def test_chart_renders_no_policy_by_default_and_refuses_an_empty_list(
    render: Render, helm: str, chart_dir: Path, run_tool: Run
) -> None:
    assert not [m for m in render() if m["kind"] == "NetworkPolicy"]
    result = run_tool(
        [helm, "template", "x", str(chart_dir), "--set", "networkPolicy.enabled=true"]
    )
    assert result.returncode != 0
    assert "networkPolicy.enabled needs at least one entry in networkPolicy.experiments" in (
        result.stderr
    )
    for bad, field in [
        ("networkPolicy.experiments[0].name=Enas_Smoke", "name"),
        ("networkPolicy.experiments[0].nam=enas", "nam"),
        ("networkPolicy.experiments[0].namespace=Team", "namespace"),
        ("networkPolicy.prometheus.namespace=", "namespace"),
    ]:
        result = run_tool([helm, "template", "x", str(chart_dir), *CHART_VALUES, "--set", bad])
        assert result.returncode != 0, bad
        assert field in result.stderr, result.stderr


@pytest.mark.parametrize("value_set", ["defaults", "policy-on"])
def test_helm_lint_with_the_policy_on_and_off(
    value_set: str, helm: str, chart_dir: Path, run_tool: Run
) -> None:
    values = CHART_VALUES if value_set == "policy-on" else []
    result = run_tool([helm, "lint", "--strict", str(chart_dir), *values])
    assert result.returncode == 0, result.stdout + result.stderr


def test_command_prints_one_policy_per_experiment_for_kubectl(
    run_tool: Run, validate_kubernetes: Callable[[Manifest], None]
) -> None:
    result = _command(
        EXPERIMENT, "enas-gpu", "--metrics-port", "0", "--katib-namespace", "katib",
        run_tool=run_tool,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# ")  # says what it admits, and that a CNI must enforce it
    policies = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [p["metadata"]["name"] for p in policies] == [
        f"{EXPERIMENT}-suggestion-ingress",
        "enas-gpu-suggestion-ingress",
    ]
    controller = Pod("controller", "katib", CONTROLLER.labels)
    for policy, experiment in zip(policies, [EXPERIMENT, "enas-gpu"], strict=True):
        validate_kubernetes(policy)
        # No -n: kubectl's namespace decides, as for `kubectl apply -n NS -f -`.
        assert "namespace" not in policy["metadata"]
        policy["metadata"]["namespace"] = NAMESPACE
        suggestion = Pod("suggestion", NAMESPACE, {"katib.kubeflow.org/suggestion": experiment})
        trial = Pod("trial", NAMESPACE, {"katib.kubeflow.org/experiment": experiment})
        assert isolates(policy, suggestion)
        assert admits(policy, trial, suggestion, 6789)
        assert admits(policy, controller, suggestion, 6789)
        assert not admits(policy, CONTROLLER, suggestion, 6789)  # Katib is elsewhere here
        assert not admits(policy, PROMETHEUS, suggestion, 8000)  # --metrics-port 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Enas_Smoke"], "EXPERIMENT 'Enas_Smoke': not an Experiment name"),
        ([EXPERIMENT, "-n", "Team A"], "--namespace 'Team A': not a namespace name"),
        ([EXPERIMENT, "--katib-namespace", "x_y"], "--katib-namespace 'x_y': not a namespace"),
        ([EXPERIMENT, "--metrics-port", "6789"], "--metrics-port 6789: expected 0"),
        ([EXPERIMENT, "--metrics-port", "70000"], "--metrics-port 70000: expected 0"),
        ([EXPERIMENT, "a" * 41], f"EXPERIMENT '{'a' * 41}': not an Experiment name"),
    ],
)
def test_command_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, run_tool: Run
) -> None:
    result = _command(*args, run_tool=run_tool)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing half-printed for a pipe into kubectl
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"katib-enas networkpolicy: error: {message}"), line


def test_component_follows_the_kustomization_namespace(
    repo_root: Path, kubectl: str, tmp_path: Path, run_tool: Run
) -> None:
    folder = _with_component(
        repo_root, tmp_path / "team", [_smoke_experiment(repo_root)], namespace="team-a"
    )
    [policy] = [m for m in _kustomize(kubectl, folder, run_tool) if m["kind"] == "NetworkPolicy"]
    assert policy["metadata"]["namespace"] == "team-a"
    moved = Pod("suggestion", "team-a", SUGGESTION.labels)
    assert admits(policy, Pod("trial", "team-a", TRIAL.labels), moved, 6789)
    assert not admits(policy, TRIAL, moved, 6789)


def test_component_refuses_two_experiments(
    repo_root: Path, kubectl: str, tmp_path: Path, run_tool: Run
) -> None:
    first = _smoke_experiment(repo_root)
    second = {**first, "metadata": {**first["metadata"], "name": "second"}}
    folder = _with_component(repo_root, tmp_path / "two", [first, second])
    result = run_tool([kubectl, "kustomize", str(folder)])
    assert result.returncode != 0
    assert "multiple matches" in result.stderr, result.stderr


def test_component_file_is_the_command_output_with_a_placeholder(
    repo_root: Path, run_tool: Run
) -> None:
    shipped = yaml.safe_load(
        (repo_root / "manifests" / "network-policy" / "network-policy.yaml").read_text()
    )
    result = _command("experiment", run_tool=run_tool)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == shipped


def test_readme_shows_the_commands_it_documents(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    kubernetes = readme.split("<!-- section:kubernetes -->")[1].split("<!-- /section:")[0]
    network_policy = kubernetes.split("### Network policy\n")[1].split("\n### ")[0]
    assert "katib-enas networkpolicy" in network_policy
    assert "manifests/network-policy" in network_policy
    assert "networkPolicy.enabled=true" in network_policy
    chart_readme = (repo_root / "helm" / "katib-enas" / "README.md").read_text()
    for value in ("`networkPolicy.enabled`", "`networkPolicy.experiments`", "## Network policy"):
        assert value in chart_readme, value
