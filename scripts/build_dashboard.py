"""Builds the chart's Grafana dashboard, helm/katib-enas/dashboards/katib-enas.json.

Dashboards as code with Grafana's foundation SDK: each panel below is a question a user watching
an ENAS search asks, answered by one or two PromQL queries. The JSON is committed (the chart's
ConfigMap includes it, and it can be imported by hand); `--check` fails when it differs from a
fresh build, and tests/monitoring/ runs every query against a real Prometheus scraping a real
service.

    .venv/bin/python scripts/build_dashboard.py          # rewrite the JSON
    .venv/bin/python scripts/build_dashboard.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)

OUTPUT = Path(__file__).resolve().parent.parent / "helm" / "katib-enas" / "dashboards"
FILE = OUTPUT / "katib-enas.json"
UID = "katib-enas-overview"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
# Per-experiment series carry the service's `experiment` label. Service-wide ones (RPCs, process)
# carry the PodMonitor's `katib_kubeflow_org_experiment` pod label on Kubernetes and nothing in a
# plain scrape, hence the `|` (the empty value matches too).
EXP = 'namespace=~"$namespace", experiment=~"$experiment"'
SVC = 'namespace=~"$namespace", katib_kubeflow_org_experiment=~"$experiment|"'
RATE = "[$__rate_interval]"
FAILED = 'condition=~"Failed|MetricsUnavailable"'
FINISHED = 'condition=~"Succeeded|EarlyStopped|Failed|MetricsUnavailable"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class PanelSpec:
    """One panel: its title, the question it answers (its description) and its queries."""

    title: str
    answers: str
    unit: str
    queries: tuple[Query, ...]
    thresholds: tuple[tuple[float, str], ...] = ()


def _rpc_panels() -> list[PanelSpec]:
    rpc = f"katib_enas_rpc_requests_total{{{SVC}"
    latency = f'katib_enas_rpc_duration_seconds_bucket{{{SVC}, method="GetSuggestions"}}'
    return [
        PanelSpec(
            "Suggestion RPCs by method and code",
            "How often does Katib call the service, and with what answers?",
            "reqps",
            (Query(f"sum by (method, code) (rate({rpc}}}{RATE}))", "{{method}} {{code}}"),),
        ),
        PanelSpec(
            "RPC error ratio by method",
            "What share of Katib's calls fail? A rejected ValidateAlgorithmSettings fails the "
            "experiment; a failed GetSuggestions stalls it.",
            "percentunit",
            (
                Query(
                    f'sum by (method) (rate({rpc}, code!="OK"}}{RATE}))'
                    f" / sum by (method) (rate({rpc}}}{RATE}))",
                    "{{method}}",
                ),
            ),
            ((0.1, "red"),),
        ),
        PanelSpec(
            "GetSuggestions latency against Katib's 60 s deadline",
            "How close do suggestion calls come to the 60 s after which Katib gives up and "
            "retries?",
            "s",
            tuple(
                Query(
                    f"histogram_quantile({q}, sum by (le) (rate({latency}{RATE})))",
                    f"p{round(q * 100)}",
                )
                for q in (0.5, 0.95)
            ),
            ((45, "orange"), (60, "red")),
        ),
        PanelSpec(
            "Memory against the container limit",
            "How much memory does the service use, and how far is it from the limit at which "
            "it is OOM-killed?",
            "bytes",
            (
                Query(
                    f"process_resident_memory_bytes{{{SVC}}}"
                    f" and on (job, instance) katib_enas_build_info{{{SVC}}}",
                    "{{instance}} resident",
                ),
                Query(f"katib_enas_memory_limit_bytes{{{SVC}}}", "{{instance}} limit"),
            ),
        ),
    ]


def _learning_panels() -> list[PanelSpec]:
    duration = "katib_enas_controller_update_duration_seconds"
    return [
        PanelSpec(
            "Learning time per request",
            "How long does the controller spend learning from newly finished trials?",
            "s",
            (
                Query(
                    f"sum by (experiment) (rate({duration}_sum{{{EXP}}}{RATE}))"
                    f" / sum by (experiment) (rate({duration}_count{{{EXP}}}{RATE}))",
                    "{{experiment}} mean",
                ),
                Query(
                    "histogram_quantile(0.95, sum by (experiment, le) "
                    f"(rate({duration}_bucket{{{EXP}}}{RATE})))",
                    "{{experiment}} p95",
                ),
            ),
        ),
        PanelSpec(
            "Suggestions and controller updates per minute",
            "Is the search moving: architectures handed out, and trials learned from?",
            "none",
            (
                Query(
                    f"sum by (experiment) (rate(katib_enas_suggestions_total{{{EXP}}}{RATE})) * 60",
                    "{{experiment}} suggestions",
                ),
                Query(
                    "sum by (experiment) "
                    f"(rate(katib_enas_controller_updates_total{{{EXP}}}{RATE})) * 60",
                    "{{experiment}} updates",
                ),
            ),
        ),
    ]


def _trial_panels() -> list[PanelSpec]:
    return [
        PanelSpec(
            "Trials by condition",
            "How many trials are created, running, succeeded, failed, killed?",
            "none",
            (
                Query(
                    f"sum by (experiment, condition) (katib_enas_trials{{{EXP}}})",
                    "{{experiment}} {{condition}}",
                ),
            ),
        ),
        PanelSpec(
            "Failed-trial ratio",
            "What share of finished trials failed (or reported no metric)?",
            "percentunit",
            (
                Query(
                    f"sum by (experiment) (katib_enas_trials{{{EXP}, {FAILED}}})"
                    f" / sum by (experiment) (katib_enas_trials{{{EXP}, {FINISHED}}})",
                    "{{experiment}}",
                ),
            ),
            ((0.5, "red"),),
        ),
    ]


def _policy_panels() -> list[PanelSpec]:
    return [
        PanelSpec(
            "Best objective value per experiment",
            "What is the best objective metric any trial reached so far?",
            "none",
            (
                Query(
                    f"max by (experiment) (katib_enas_best_objective_value{{{EXP}}})",
                    "{{experiment}}",
                ),
            ),
        ),
        PanelSpec(
            "Reward against baseline",
            "Do new trials beat the moving-average baseline (the controller learns from the "
            "difference)?",
            "none",
            (
                Query(f"katib_enas_latest_reward{{{EXP}}}", "{{experiment}} reward"),
                Query(f"katib_enas_reward_baseline{{{EXP}}}", "{{experiment}} baseline"),
            ),
        ),
        PanelSpec(
            "Policy entropy",
            "Is the controller still exploring? A fall towards 0 means it has collapsed onto a "
            "few architectures.",
            "none",
            (Query(f"katib_enas_policy_entropy_nats{{{EXP}}}", "{{experiment}}"),),
        ),
        PanelSpec(
            "Controller replays",
            "Was the controller rebuilt from the whole trial history (a restart without its "
            "volume, or a history that changed)?",
            "none",
            (
                Query(
                    "sum by (experiment) "
                    f"(increase(katib_enas_controller_replays_total{{{EXP}}}{RATE}))",
                    "{{experiment}}",
                ),
            ),
        ),
    ]


ROWS: tuple[tuple[str, list[PanelSpec]], ...] = (
    ("Suggestion service", _rpc_panels()),
    ("Trials and learning", _learning_panels() + _trial_panels()),
    ("Controller policy", _policy_panels()),
)


def _panel(spec: PanelSpec, panel_id: int) -> Timeseries:
    panel = (
        Timeseries()
        .id(panel_id)
        .title(spec.title)
        .description(spec.answers)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .span(12)
        .height(8)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    for ref, query in zip("ABCDEFGH", spec.queries, strict=False):
        panel = panel.with_target(
            Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref)
        )
    if spec.thresholds:
        steps = [Threshold(value=None, color="green")]
        steps += [Threshold(value=value, color=color) for value, color in spec.thresholds]
        panel = panel.thresholds(
            dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)
        ).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
    return panel


def _variables() -> list[dash.QueryVariable | dash.DatasourceVariable]:
    namespace = (
        dash.QueryVariable("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query("label_values(katib_enas_build_info, namespace)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
    )
    experiment = (
        dash.QueryVariable("experiment")
        .label("Experiment")
        .datasource(DATASOURCE)
        .query('label_values(katib_enas_trials{namespace=~"$namespace"}, experiment)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
    )
    datasource = dash.DatasourceVariable("datasource").label("Data source").type("prometheus")
    return [datasource, namespace, experiment]


def build() -> dict[str, object]:
    """The dashboard as Grafana's JSON model."""
    board = (
        dash.Dashboard("Katib ENAS")
        .uid(UID)
        .description("The katib-enas suggestion service and the ENAS searches it serves.")
        .tags(["katib", "kubeflow", "enas"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
    )
    for variable in _variables():
        board = board.with_variable(variable)
    panel_id = 0
    for title, specs in ROWS:
        panel_id += 1
        board = board.with_row(dash.Row(title).id(panel_id))
        for spec in specs:
            panel_id += 1
            board = board.with_panel(_panel(spec, panel_id))
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(board.build())
    result: dict[str, object] = json.loads(encoded)
    return result


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not FILE.is_file() or FILE.read_text(encoding="utf-8") != text:
            print(f"{FILE} is stale: run scripts/build_dashboard.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    FILE.write_text(text, encoding="utf-8")
    print(f"wrote {FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
