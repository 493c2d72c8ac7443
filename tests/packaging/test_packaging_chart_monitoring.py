"""The chart's monitoring parts and what a user sees after installing the packaged chart: the
PrometheusRule is the plain rules file made for this release, the dashboard ConfigMap is what
Grafana's sidecar loads, the PodMonitor carries the experiment label, and the NOTES' commands
work without a clone of the repository."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]
Run = Callable[..., subprocess.CompletedProcess[str]]
PLAIN_JOB = 'job="katib-enas"'
RELEASE_JOB = 'job="katib-enas/enas-katib-enas-suggestion"'  # `helm template enas -n katib-enas`


def _one(manifests: list[Manifest], kind: str, suffix: str = "") -> Manifest:
    [found] = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)]
    return found


def test_prometheus_rule_is_the_rules_file_for_this_release(
    render: Render, chart_values: dict[str, list[str]], chart_dir: Path
) -> None:
    manifests = render(*chart_values["all-on"])
    rule = _one(manifests, "PrometheusRule")
    monitor = _one(manifests, "PodMonitor")
    # prometheus-operator names a PodMonitor's targets' job `<namespace>/<name>`.
    job = f'job="{monitor["metadata"]["namespace"]}/{monitor["metadata"]["name"]}"'
    assert job == RELEASE_JOB
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    plain = yaml.safe_load((chart_dir / "rules" / "katib-enas.rules.yaml").read_text())
    [plain_group] = plain["groups"]
    [group] = rule["spec"]["groups"]
    assert [r["alert"] for r in group["rules"]] == [r["alert"] for r in plain_group["rules"]]
    for ours, source in zip(group["rules"], plain_group["rules"], strict=True):
        expected = source["expr"].replace(PLAIN_JOB, job)
        expected = expected.replace('-(enas-torch)"', '-(enas-torch|enas)"')  # takeoverEnas
        assert ours["expr"] == expected, ours["alert"]
        assert ours["labels"] == {**source["labels"], "team": "ml"}
        assert ours["annotations"] == source["annotations"]
    # Every `up` the rules read is the release's job: nothing still points at the plain one.
    assert PLAIN_JOB not in json.dumps(rule)
    assert json.dumps(rule).count(RELEASE_JOB.replace('"', '\\"')) == 2


def test_rendered_rules_pass_promtool_check(
    render: Render, chart_values: dict[str, list[str]], promtool: str, run_tool: Run, tmp_path: Path
) -> None:
    rule = _one(render(*chart_values["all-on"]), "PrometheusRule")
    path = tmp_path / "rendered.rules.yaml"
    path.write_text(yaml.safe_dump(rule["spec"]))
    result = run_tool([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule['spec']['groups'][0]['rules'])} rules found" in result.stdout


def test_monitors_need_their_kinds_in_the_cluster(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    all_on = chart_values["all-on"]
    without_crds = [a for a in all_on if "monitoring.coreos.com" not in a and a != "--api-versions"]
    kinds = {m["kind"] for m in render(*without_crds)}
    assert not kinds & {"PodMonitor", "PrometheusRule"}
    assert "ConfigMap" in kinds  # the dashboard needs no CRD


def test_podmonitor_copies_the_experiment_label_and_passes_the_relabelling_knobs(
    render: Render, chart_values: dict[str, list[str]]
) -> None:
    monitor = _one(render(*chart_values["all-on"]), "PodMonitor")
    assert monitor["spec"]["podTargetLabels"] == ["katib.kubeflow.org/experiment"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["honorLabels"] is True
    assert endpoint["relabelings"] == [{"targetLabel": "cluster", "replacement": "lab"}]
    assert endpoint["metricRelabelings"] == [
        {"action": "drop", "sourceLabels": ["__name__"], "regex": "python_gc_.*"}
    ]
    crds = chart_values["all-on"][-4:]
    defaults = _one(render("--set", "monitoring.podMonitor.enabled=true", *crds), "PodMonitor")
    [endpoint] = defaults["spec"]["podMetricsEndpoints"]
    assert endpoint["honorLabels"] is False
    assert "relabelings" not in endpoint and "metricRelabelings" not in endpoint


def test_dashboard_configmap_is_what_grafanas_sidecar_loads(
    render: Render, chart_values: dict[str, list[str]], chart_dir: Path
) -> None:
    assert not [m for m in render() if m["metadata"]["name"].endswith("-dashboards")]
    configmap = _one(render(*chart_values["all-on"]), "ConfigMap", "-dashboards")
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Kubeflow"}
    files = sorted(p.name for p in (chart_dir / "dashboards").glob("*.json"))
    assert sorted(configmap["data"]) == files == ["katib-enas.json"]
    shipped = (chart_dir / "dashboards" / "katib-enas.json").read_text()
    assert json.loads(configmap["data"]["katib-enas.json"]) == json.loads(shipped)
    relabelled = render(
        "--set", "monitoring.grafanaDashboard.enabled=true",
        "--set", "monitoring.grafanaDashboard.label=my_dashboards",
        "--set", "monitoring.grafanaDashboard.labelValue=yes",
    )  # fmt: skip
    labels = _one(relabelled, "ConfigMap", "-dashboards")["metadata"]["labels"]
    assert labels["my_dashboards"] == "yes" and "grafana_dashboard" not in labels


def test_suggestion_entry_reports_its_memory_limit(render: Render) -> None:
    configmap = _one(render(), "ConfigMap", "-registration")
    [entry] = json.loads(configmap["data"]["entries.json"])
    assert {
        "name": "KATIB_ENAS_MEMORY_LIMIT",
        "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}},
    } in entry["env"]


def test_packaged_chart_notes_work_without_a_clone(
    helm: str,
    chart_dir: Path,
    run_tool: Run,
    tmp_path: Path,
    katib_schema: Callable[[str, Any], list[str]],
) -> None:
    packaged = run_tool([helm, "package", str(chart_dir), "--destination", str(tmp_path)])
    assert packaged.returncode == 0, packaged.stderr
    [archive] = tmp_path.glob("katib-enas-*.tgz")
    readme = run_tool([helm, "show", "readme", str(archive)])
    assert readme.returncode == 0 and "## Monitoring" in readme.stdout, readme.stderr
    result = run_tool(
        [helm, "install", "enas", str(archive), "--dry-run=client", "--namespace", "katib-enas",
         "--set", "algorithm.name=enas-x"]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest_text, notes = result.stdout.split("NOTES:", 1)
    assert "manifests/" not in notes  # no path that exists only in a clone
    [command] = [line.strip() for line in notes.splitlines() if "-examples" in line]
    assert command.startswith("kubectl -n katib-enas get configmap enas-katib-enas-examples")
    assert "{.data.enas-cpu-smoke\\.yaml}" in command
    # The live report: Katib's Service has only the gRPC port, so the Deployment is forwarded.
    assert "kubectl -n <namespace> port-forward deployment/enas-cpu-smoke-enas-x 8000:8000" in notes
    assert "http://localhost:8000/report" in notes
    docs = [d for d in yaml.safe_load_all(manifest_text.split("MANIFEST:", 1)[1]) if d]
    examples = _one(docs, "ConfigMap", "-examples")
    experiment = yaml.safe_load(examples["data"]["enas-cpu-smoke.yaml"])
    assert katib_schema("v1beta1.Experiment", experiment) == []
    assert experiment["spec"]["algorithm"]["algorithmName"] == "enas-x"
    assert "namespace" not in experiment["metadata"]  # applies to any namespace


def test_chart_example_is_the_repository_smoke_test(chart_dir: Path, repo_root: Path) -> None:
    ours = yaml.safe_load((chart_dir / "examples" / "enas-cpu-smoke.yaml").read_text())
    theirs = yaml.safe_load(
        (repo_root / "manifests" / "experiments" / "enas-cpu-smoke.yaml").read_text()
    )
    del theirs["metadata"]["namespace"]
    assert ours == theirs
