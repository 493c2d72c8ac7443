"""The report's plots, made with plotly (written into the page as self-contained HTML).

Optuna's optimisation history and NNI's trial view are the models: the objective of every
trial in creation order with the best-so-far line (and a baseline run's best-so-far, e.g. the
same search with `strategy: random`), the controller's learning over its updates, how trials
ended, and accuracy against size.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from katib_enas.analysis.records import ExperimentRecord, best_so_far

CONDITION_COLOURS = {
    "Succeeded": "#2ca02c",
    "EarlyStopped": "#17becf",
    "Failed": "#d62728",
    "MetricsUnavailable": "#ff7f0e",
    "Killed": "#7f7f7f",
    "Running": "#1f77b4",
    "Created": "#bcbd22",
    "Unknown": "#8c564b",
}
LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 30, "t": 50, "b": 50}}


def objective_figure(record: ExperimentRecord, baseline: ExperimentRecord | None) -> go.Figure:
    """Each trial's objective value by condition, the best so far, the goal and a baseline."""
    metric = record.objective.metric_name
    figure = go.Figure()
    by_condition: dict[str, list[int]] = {}
    for index, trial in enumerate(record.trials):
        if trial.objective is not None:
            by_condition.setdefault(trial.condition.katib_name, []).append(index)
    for condition, indexes in by_condition.items():
        trials = [record.trials[i] for i in indexes]
        figure.add_scatter(
            x=[t.seq for t in trials],
            y=[t.objective for t in trials],
            mode="markers",
            name=condition,
            marker={"size": 9, "color": CONDITION_COLOURS.get(condition, "#333333")},
            text=[t.name for t in trials],
            hovertemplate="%{text}<br>trial %{x}: %{y:.4f}<extra></extra>",
        )
    figure.add_scatter(
        x=[t.seq for t in record.trials],
        y=best_so_far(record.trials, record.objective),
        mode="lines",
        line={"shape": "hv", "color": "#d62728", "width": 2},
        name="best so far",
    )
    if baseline is not None:
        _add_band(figure, baseline, max(len(record.trials), len(baseline.trials)))
        figure.add_scatter(
            x=[t.seq for t in baseline.trials],
            y=best_so_far(baseline.trials, baseline.objective),
            mode="lines",
            line={"shape": "hv", "color": "#7f7f7f", "width": 2, "dash": "dash"},
            name=f"best so far, {baseline_label(baseline)}",
        )
    if record.objective.goal is not None:
        figure.add_hline(
            y=record.objective.goal, line_dash="dot", line_color="#9467bd", annotation_text="goal"
        )
    figure.update_layout(
        title=f"{metric} per trial", xaxis_title="trial (creation order)", yaxis_title=metric
    )
    figure.update_xaxes(tickformat="d")
    figure.update_layout(**LAYOUT)
    return figure


BAND = (0.1, 0.5, 0.9)  # the band's low edge, middle line and high edge


def best_of_n_band(
    values: Sequence[float], trials: int, *, maximize: bool
) -> list[tuple[float, float, float]]:
    """For n = 1..`trials`: the 10th, 50th and 90th percentiles of the best of n draws from
    `values` (a baseline run's objective values, taken as the distribution one trial of that
    search yields). The best of n is below v with probability F(v)^n, so its q-quantile is
    the empirical quantile at q^(1/n); minimising mirrors it."""
    ordered = sorted(values) if maximize else sorted(values, reverse=True)
    if not ordered:
        return []

    def at(level: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(level * len(ordered)) - 1))]

    return [
        (at(BAND[0] ** (1 / n)), at(BAND[1] ** (1 / n)), at(BAND[2] ** (1 / n)))
        for n in range(1, trials + 1)
    ]


def _add_band(figure: go.Figure, baseline: ExperimentRecord, trials: int) -> None:
    """What the baseline's search would reach by each trial count: a shaded 10-90 % band of
    its best so far and the median, from its values (its failed trials count as no draw)."""
    values = [t.objective for t in baseline.scored() if t.objective is not None]
    band = best_of_n_band(values, trials, maximize=baseline.objective.maximize)
    if not band:
        return
    counts = list(range(1, len(band) + 1))
    label = baseline_label(baseline)
    figure.add_scatter(
        x=counts, y=[b[0] for b in band], mode="lines", line={"width": 0},
        showlegend=False, hoverinfo="skip",
    )  # fmt: skip
    figure.add_scatter(
        x=counts,
        y=[b[2] for b in band],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(127,127,127,0.2)",
        name=f"{label}: best of n, 10-90 % band",
        hoverinfo="skip",
    )
    figure.add_scatter(
        x=counts,
        y=[b[1] for b in band],
        mode="lines",
        line={"color": "#7f7f7f", "width": 1, "dash": "dot"},
        name=f"{label}: best of n, median",
    )


def baseline_label(baseline: ExperimentRecord) -> str:
    """`random search (run X)` when the baseline is the random strategy."""
    settings = baseline.settings.get("algorithm settings", "")
    kind = "random search" if "strategy=random" in settings else "baseline"
    return f"{kind} ({baseline.name})"


def controller_figure(record: ExperimentRecord) -> go.Figure | None:
    """Mean reward and baseline per update, and the policy's entropy on a second axis."""
    updates = record.controller
    if not updates:
        return None
    numbers = [u.number for u in updates]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_scatter(
        x=numbers,
        y=[u.mean_reward for u in updates],
        name="mean reward of the batch",
        mode="lines+markers",
    )
    figure.add_scatter(x=numbers, y=[u.baseline for u in updates], name="baseline", mode="lines")
    figure.add_scatter(
        x=numbers,
        y=[u.entropy for u in updates],
        name="policy entropy (nats)",
        mode="lines",
        line={"dash": "dot"},
        secondary_y=True,
    )
    figure.update_layout(
        title="Controller: reward, baseline and entropy per update", xaxis_title="update"
    )
    figure.update_xaxes(**_whole_numbers(len(updates)))
    figure.update_yaxes(title_text="reward", secondary_y=False)
    figure.update_yaxes(title_text="entropy (nats)", secondary_y=True)
    figure.update_layout(**LAYOUT)
    return figure


def conditions_figure(record: ExperimentRecord) -> go.Figure:
    counts = Counter(t.condition.katib_name for t in record.trials)
    names = sorted(counts, key=lambda n: -counts[n])
    figure = go.Figure(
        go.Bar(
            x=names,
            y=[counts[n] for n in names],
            marker_color=[CONDITION_COLOURS.get(n, "#333333") for n in names],
            text=[counts[n] for n in names],
            textposition="auto",
        )
    )
    figure.update_layout(title="Trials by condition", yaxis_title="trials")
    figure.update_layout(**LAYOUT)
    return figure


def size_figure(record: ExperimentRecord) -> go.Figure | None:
    """Objective against parameter count: is a smaller child as good? The Pareto front (no
    other trial is both better and smaller) joined by a line, the best trial starred."""
    trials = [t for t in record.trials if t.objective is not None and t.parameters is not None]
    if not trials:
        return None
    metric = record.objective.metric_name
    hover = "%{text}<br>%{x:,} parameters: %{y:.4f}<extra></extra>"
    figure = go.Figure()
    figure.add_scatter(
        x=[t.parameters for t in trials],
        y=[t.objective for t in trials],
        mode="markers",
        name="trials",
        marker={"size": 9, "color": "#9ecae1"},
        text=[t.name for t in trials],
        hovertemplate=hover,
    )
    front = record.pareto()
    if front:
        figure.add_scatter(
            x=[t.parameters for t in front],
            y=[t.objective for t in front],
            mode="lines+markers",
            name="Pareto front (nothing smaller is as good)",
            line={"shape": "hv", "color": "#1f77b4", "width": 2},
            marker={"size": 10, "color": "#1f77b4"},
            text=[t.name for t in front],
            hovertemplate=hover,
        )
    best = record.best
    if best is not None and best.parameters is not None:
        figure.add_scatter(
            x=[best.parameters],
            y=[best.objective],
            mode="markers",
            name=f"best: {best.name}",
            marker={"size": 18, "symbol": "star", "color": "#d62728"},
            text=[best.name],
            hovertemplate=hover,
        )
    figure.update_layout(
        title=f"{metric} against size", xaxis_title="parameters", yaxis_title=metric
    )
    figure.update_xaxes(type="log")
    figure.update_layout(**LAYOUT)
    return figure


CURVE_COLOURS = ("#d62728", "#1f77b4", "#2ca02c")  # the best three; the others in grey


def curves_figure(record: ExperimentRecord) -> go.Figure | None:
    """Each trial's objective over its reports (epochs): the best three in colour."""
    if not record.curves:
        return None
    top = [t.name for t in record.ranked()[: len(CURVE_COLOURS)]]
    metric = record.objective.metric_name
    figure = go.Figure()
    others = [t for t in record.trials if t.name in record.curves and t.name not in top]
    for trial in others:  # drawn first, under the best
        values = record.curves[trial.name]
        figure.add_scatter(
            x=list(range(1, len(values) + 1)),
            y=list(values),
            mode="lines",
            line={"color": "#c7c7c7", "width": 1},
            name=trial.name,
            showlegend=False,
            hovertemplate=f"{trial.name}<br>report %{{x}}: %{{y:.4f}}<extra></extra>",
        )
    for rank, name in enumerate(top):
        values = record.curves.get(name, ())
        if not values:
            continue
        figure.add_scatter(
            x=list(range(1, len(values) + 1)),
            y=list(values),
            mode="lines+markers",
            line={"color": CURVE_COLOURS[rank], "width": 2},
            name=f"#{rank + 1} {name}",
            hovertemplate=f"{name}<br>report %{{x}}: %{{y:.4f}}<extra></extra>",
        )
    figure.update_layout(
        title=f"{metric} over each trial's training (grey: the others)",
        xaxis_title="report (epoch)",
        yaxis_title=metric,
    )
    figure.update_xaxes(tickformat="d")
    figure.update_layout(**LAYOUT)
    return figure


HEATMAP_CHOICES = 4  # per decision: the choices most likely at the last update, the rest summed
HEATMAP_ROW_PX = 16


def decisions_figure(record: ExperimentRecord) -> go.Figure | None:
    """What the controller learned: per decision (a layer's operation, a skip, a cell node's
    input or operation), each choice's probability across updates, as a heatmap. A skip shows
    its probability of "yes"; a decision with many choices shows the few most likely at the
    end and "other" for the rest."""
    updates = [u for u in record.controller if u.decisions]
    if not updates:
        return None
    rows: list[tuple[str, str, frozenset[int]]] = []  # (decision, row label, choices summed)
    for decision in updates[-1].decisions:
        if decision.choices == ("no", "yes"):
            rows.append((decision.label, f"{decision.label}: yes", frozenset({1})))
            continue
        order = sorted(range(len(decision.choices)), key=lambda i: -decision.probabilities[i])
        for i in order[:HEATMAP_CHOICES]:
            rows.append(
                (decision.label, f"{decision.label}: {decision.choices[i]}", frozenset({i}))
            )
        if len(order) > HEATMAP_CHOICES:
            rest = frozenset(order[HEATMAP_CHOICES:])
            rows.append((decision.label, f"{decision.label}: other", rest))
    by_label = [{d.label: d for d in u.decisions} for u in updates]
    z: list[list[float | None]] = []
    for label, _, summed in rows:
        line: list[float | None] = []
        for decisions in by_label:
            found = decisions.get(label)
            line.append(None if found is None else sum(found.probabilities[i] for i in summed))
        z.append(line)
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[u.number for u in updates],
            y=[row for _, row, _ in rows],
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            colorbar={"title": "probability"},
            hovertemplate="%{y}<br>update %{x}: %{z:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Controller: each decision's probabilities across updates",
        xaxis_title="update",
        height=max(400, 120 + HEATMAP_ROW_PX * len(rows)),
    )
    figure.update_yaxes(autorange="reversed", tickfont={"size": 10})
    figure.update_xaxes(**_whole_numbers(len(updates)))
    figure.update_layout(**LAYOUT)
    figure.update_layout(margin={"l": 320})  # room for the decisions' names
    return figure


def _whole_numbers(count: int) -> dict[str, object]:
    """An axis of update numbers: one tick per update when there are few (plotly would put
    ticks at halves and print `1 1 2 2`), whole numbers otherwise."""
    return {"tickformat": "d", "dtick": 1} if count <= 20 else {"tickformat": "d"}
