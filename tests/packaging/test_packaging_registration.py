"""Registration in katib-config: `katib-enas register`/`unregister` (the chart's hook Jobs) and
the kustomize overlays.

The command runs for real as a subprocess on a ConfigMap built from Katib's stock katib-config
(`tests/fixtures/katib/katib-config.yaml`); the overlays are built with the real `kubectl kustomize`
over a local stand-in for Katib's standalone install (the real one is fetched from GitHub).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

Run = Callable[..., subprocess.CompletedProcess[str]]
Manifest = dict[str, Any]
KATIB_STANDALONE = (
    "https://github.com/kubeflow/katib.git/manifests/v1beta1/installs/katib-standalone?ref=v0.19.0"
)
# What every entry of ours must pass to the service: its pod's namespace, through the downward
# API. Katib's composer (pkg/controller.v1beta1/suggestion/composer/composer.go,
# `desiredContainers`) deep-copies the entry's inlined core/v1 Container, `env` and `valueFrom`
# included, and adds no env of its own.
NAMESPACE_ENV = {
    "name": "KATIB_ENAS_NAMESPACE",
    "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
}
# And the experiment it serves, from the label Katib's composer puts on every suggestion pod
# (`util.SuggestionLabels`, pkg/controller.v1beta1/util/labels.go).
EXPERIMENT_ENV = {
    "name": "KATIB_ENAS_EXPERIMENT",
    "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['katib.kubeflow.org/experiment']"}},
}
# Each overlay and the chart values that register the same entries.
OVERLAYS = {
    "install": [],
    "install-enas-takeover": ["--set", "algorithm.takeoverEnas=true"],
}


@pytest.fixture
def stock_configmap(katib_dir: Path, tmp_path: Path) -> Path:
    text = (katib_dir / "katib-config.yaml").read_text()
    path = tmp_path / "katib-config.yaml"
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "katib-config", "namespace": "kubeflow"},
        "data": {"katib-config.yaml": text},
    }
    path.write_text(yaml.safe_dump(configmap))
    return path


def _entries_file(render: Callable[..., list[Manifest]], tmp_path: Path, *values: str) -> Path:
    [configmap] = [
        m
        for m in render(*values)
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-registration")
    ]
    path = tmp_path / f"entries-{len(values)}.json"
    path.write_text(configmap["data"]["entries.json"])
    return path


def _script(action: str, entries: Path, target: Path) -> list[str]:
    command = str(Path(sys.executable).with_name("katib-enas"))
    return [command, action, f"--entries={entries}", f"--file={target}"]


def _suggestions(configmap_path: Path) -> list[dict[str, Any]]:
    configmap = yaml.safe_load(configmap_path.read_text())
    config = yaml.safe_load(configmap["data"]["katib-config.yaml"])
    suggestions: list[dict[str, Any]] = config["runtime"]["suggestions"]
    return suggestions


def test_install_twice_then_uninstall_leaves_katib_config_as_it_was(
    *,
    render: Callable[..., list[Manifest]],
    chart_values: dict[str, list[str]],
    stock_configmap: Path,
    tmp_path: Path,
    run_tool: Run,
) -> None:
    before = _suggestions(stock_configmap)
    entries = _entries_file(render, tmp_path, *chart_values["all-on"])
    for _ in range(2):
        result = run_tool(_script("register", entries, stock_configmap))
        assert result.returncode == 0, result.stderr
        installed = _suggestions(stock_configmap)
        names = [s["algorithmName"] for s in installed]
        assert names.count("enas") == 1 and names.count("enas-torch") == 1
        assert names == [s["algorithmName"] for s in before] + ["enas-torch"]
        [enas] = [s for s in installed if s["algorithmName"] == "enas"]
        assert enas["image"].startswith("ghcr.io/katib-enas/suggestion:")
        others = [s for s in installed if s["algorithmName"] not in ("enas", "enas-torch")]
        assert others == [s for s in before if s["algorithmName"] != "enas"]
        ours = [s for s in installed if s["algorithmName"] in ("enas", "enas-torch")]
        assert all(NAMESPACE_ENV in s["env"] and EXPERIMENT_ENV in s["env"] for s in ours), ours
    result = run_tool(_script("unregister", entries, stock_configmap))
    assert result.returncode == 0, result.stderr
    assert _suggestions(stock_configmap) == before
    assert not yaml.safe_load(stock_configmap.read_text())["metadata"]["annotations"]


def test_upgrade_that_drops_the_takeover_gives_enas_back(
    *,
    render: Callable[..., list[Manifest]],
    chart_values: dict[str, list[str]],
    stock_configmap: Path,
    tmp_path: Path,
    run_tool: Run,
) -> None:
    before = _suggestions(stock_configmap)
    takeover = _entries_file(render, tmp_path, *chart_values["all-on"])
    plain = _entries_file(render, tmp_path)
    assert run_tool(_script("register", takeover, stock_configmap)).returncode == 0
    assert run_tool(_script("register", plain, stock_configmap)).returncode == 0
    assert _suggestions(stock_configmap)[:-1] == before
    assert _suggestions(stock_configmap)[-1]["algorithmName"] == "enas-torch"


def test_bad_input_is_one_line_exit_2_and_the_file_untouched(
    stock_configmap: Path, tmp_path: Path, run_tool: Run
) -> None:
    original = stock_configmap.read_text()
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps([{"image": "x"}]))
    result = run_tool(_script("register", entries, stock_configmap))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "katib-enas register: error: entries[0].algorithmName: missing"
    )
    assert "Traceback" not in result.stderr
    assert stock_configmap.read_text() == original


def _stand_in_for_katib(katib_dir: Path, folder: Path) -> Path:
    """A base that, like Katib's standalone install, generates katib-config in kubeflow."""
    folder.mkdir()
    shutil.copy(katib_dir / "katib-config.yaml", folder / "katib-config.yaml")
    (folder / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "kubeflow",
                "configMapGenerator": [
                    {
                        "name": "katib-config",
                        "behavior": "create",
                        "files": ["katib-config.yaml"],
                        "options": {"disableNameSuffixHash": True},
                    }
                ],
            }
        )
    )
    return folder


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_overlay_builds_and_registers_what_the_chart_registers(
    *,
    overlay: str,
    repo_root: Path,
    katib_dir: Path,
    kubectl: str,
    render: Callable[..., list[Manifest]],
    stock_configmap: Path,
    tmp_path: Path,
    run_tool: Run,
) -> None:
    source = repo_root / "manifests" / overlay
    kustomization = (source / "kustomization.yaml").read_text()
    assert KATIB_STANDALONE in kustomization
    work = tmp_path / overlay
    shutil.copytree(source, work)
    base = _stand_in_for_katib(katib_dir, tmp_path / "katib-standalone")
    # kustomize accepts only relative paths to a local base.
    local = os.path.relpath(base, work)
    (work / "kustomization.yaml").write_text(kustomization.replace(KATIB_STANDALONE, local))
    result = run_tool([kubectl, "kustomize", str(work)])
    assert result.returncode == 0, result.stderr
    [configmap] = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert configmap["metadata"] == {"name": "katib-config", "namespace": "kubeflow"}
    built = yaml.safe_load(configmap["data"]["katib-config.yaml"])
    # The overlay's file is Katib v0.19.0's config plus exactly the chart's entries.
    entries = _entries_file(render, tmp_path, *OVERLAYS[overlay])
    assert run_tool(_script("register", entries, stock_configmap)).returncode == 0
    expected = yaml.safe_load(
        yaml.safe_load(stock_configmap.read_text())["data"]["katib-config.yaml"]
    )
    pinned = json.dumps(built).replace(":v0.19.0", ":latest")  # release tags vs. master's
    assert json.loads(pinned) == expected
    ours = [
        s
        for s in built["runtime"]["suggestions"]
        if s["image"].startswith("ghcr.io/katib-enas/suggestion:")
    ]
    assert [s["algorithmName"] for s in ours] == (
        ["enas", "enas-torch"] if overlay == "install-enas-takeover" else ["enas-torch"]
    )
    assert all(NAMESPACE_ENV in s["env"] and EXPERIMENT_ENV in s["env"] for s in ours), ours


def test_every_kustomization_under_manifests_builds(
    repo_root: Path, katib_dir: Path, kubectl: str, tmp_path: Path, run_tool: Run
) -> None:
    base = _stand_in_for_katib(katib_dir, tmp_path / "katib-standalone")
    found = sorted((repo_root / "manifests").rglob("kustomization.yaml"))
    assert {p.parent.name for p in found} >= set(OVERLAYS)
    for path in found:
        work = tmp_path / "build" / path.parent.relative_to(repo_root)
        shutil.copytree(path.parent, work)
        text = path.read_text().replace(KATIB_STANDALONE, os.path.relpath(base, work))
        (work / "kustomization.yaml").write_text(text)
        if yaml.safe_load(text)["kind"] == "Component":
            # A component builds only inside a kustomization: one with an Experiment of ours.
            work = _using_component(work, repo_root)
        result = run_tool([kubectl, "kustomize", str(work)])
        assert result.returncode == 0, f"{path}: {result.stderr}"


def _using_component(component: Path, repo_root: Path) -> Path:
    folder = component.with_name(component.name + "-user")
    folder.mkdir()
    experiment = repo_root / "manifests" / "experiments" / "enas-cpu-smoke.yaml"
    shutil.copy(experiment, folder / experiment.name)
    (folder / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [experiment.name],
                "components": [os.path.relpath(component, folder)],
            }
        )
    )
    return folder
