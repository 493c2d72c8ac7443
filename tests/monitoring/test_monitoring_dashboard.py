"""The Grafana dashboard: built by scripts/build_dashboard.py (committed JSON is fresh), valid for
Grafana's foundation SDK models, and every panel's query returns data from a real Prometheus
scraping a real `katib-enas serve` that Katib-shaped calls drive. The README lists every panel."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel
from grpc_service import drive, renamed
from prometheus_server import Prometheus, PromQLError
from serve_process import Serve

from katib_enas.katib_api import pb

# What Grafana puts in place of its variables, for a query over everything.
VARIABLES = {
    "$__rate_interval": "1m",
    "${experiment:regex}": ".*",
    "$experiment": ".*",
    "$namespace": ".*",
}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def promql(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr.replace("$1", ""), expr  # no variable left unreplaced
    return expr


def test_committed_dashboard_equals_a_fresh_build(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "build_dashboard.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_dashboard_is_a_valid_grafana_model_with_its_variables(dashboard_file: Path) -> None:
    raw = json.loads(dashboard_file.read_text())
    register_default_plugins()
    model = DashboardModel.from_json(raw)
    assert model.uid == "katib-enas-overview"
    variables = {v["name"]: v for v in raw["templating"]["list"]}
    assert list(variables) == ["datasource", "namespace", "experiment"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in raw["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["description"] and panel["targets"], panel["title"]
    ids = [p["id"] for p in raw["panels"]]
    assert len(ids) == len(set(ids))


def test_readme_says_what_each_panel_answers(repo_root: Path, dashboard_file: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Monitoring", 1)[1].split("\n## ", 1)[0]
    for panel in panels(json.loads(dashboard_file.read_text())):
        assert f"**{panel['title']}**" in section, panel["title"]


@pytest.fixture
def driven(serve: Serve, cpu_experiment: Any) -> Iterator[Serve]:
    """A service that has seen what a user's dashboard shows: a rejected experiment, and two
    experiments learning from succeeded and failed trials."""
    bad = renamed(cpu_experiment, "enas-bad")
    bad.spec.algorithm.algorithm_settings.add(name="controller_hidden_size", value="-1")
    with pytest.raises(grpc.RpcError):
        serve.suggestion.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=bad), timeout=30
        )
    for name, accuracies in (("enas-a", [0.5, 0.8, None, 0.9]), ("enas-b", [0.6, 0.7])):
        experiment = renamed(cpu_experiment, name)
        serve.suggestion.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=experiment), timeout=30
        )
        drive(serve.suggestion, experiment, accuracies)
    yield serve


@pytest.mark.slow
def test_every_panel_query_returns_series_from_a_real_service(
    driven: Serve, start_prometheus: Callable[..., Prometheus], dashboard_file: Path
) -> None:
    prometheus = start_prometheus(driven.metrics_target)
    dashboard = json.loads(dashboard_file.read_text())
    queries = [
        (panel["title"], target["expr"])
        for panel in panels(dashboard)
        for target in panel["targets"]
    ]
    assert len(queries) >= len(panels(dashboard)) >= 12
    # Rates need two scrapes of the driven counters: wait until every query has data.
    prometheus.wait_for("count_over_time(katib_enas_build_info[1m]) >= 3", lambda r: len(r) == 1)
    empty = []
    for title, expr in queries:
        try:
            if not prometheus.query(promql(expr)):
                empty.append(f"{title}: {expr}")
        except PromQLError as error:
            pytest.fail(f"{title}: {error}")
    assert empty == []


@pytest.mark.slow
def test_variable_queries_find_the_experiments(
    driven: Serve, start_prometheus: Callable[..., Prometheus], dashboard_file: Path
) -> None:
    prometheus = start_prometheus(driven.metrics_target)
    prometheus.wait_for("katib_enas_trials", lambda r: len(r) > 0)
    variables = {v["name"]: v for v in json.loads(dashboard_file.read_text())["templating"]["list"]}
    found = {}
    for name in ("namespace", "experiment"):
        # label_values(SELECTOR, LABEL) is Grafana's call of the label values API.
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variables[name]["query"])
        assert match is not None, variables[name]["query"]
        selector, label = promql(match[1]), match[2]
        found[name] = prometheus.api(f"label/{label}/values", **{"match[]": selector})
    assert found == {
        "namespace": [],
        "experiment": ["enas-a", "enas-b"],
    }  # no namespace off-cluster
