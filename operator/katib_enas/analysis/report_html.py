"""`report.html`: one self-contained page (it opens offline, from a file or an e-mail).

plotly.js is written into the page once, inline; every plot, the architecture pictures (SVG
from Graphviz) and the tables are part of the same file. Everything taken from the experiment
(names, messages, settings) is HTML-escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import plotly.graph_objects as go
import plotly.offline

from enas_trial.reporting import TEST_ACCURACY
from katib_enas import __version__
from katib_enas.analysis import charts
from katib_enas.analysis.records import ExperimentRecord, TrialRow
from katib_enas.core.katib import no_best
from katib_enas.core.sharing.reference import SHARED_SCORE_NOTE

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 0 24px 48px; color: #222; }
h1 { margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; }
.summary { color: #444; } .note { color: #8a6d3b; background: #fcf8e3; padding: 8px 12px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plot { height: 400px; }
.arch { border: 1px solid #ddd; border-radius: 6px; padding: 12px; margin: 16px 0; }
.arch svg { max-width: 100%; height: auto; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
"""


@dataclass(frozen=True)
class Picture:
    """One architecture of the top-k: its trial, its SVG (None without `dot`) and its lines."""

    rank: int
    trial: TrialRow
    svg: str | None


def render(
    record: ExperimentRecord,
    pictures: Sequence[Picture],
    *,
    baseline: ExperimentRecord | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The whole page."""
    sections = [
        _header(record, notes),
        _plot_section("objective", "Objective", charts.objective_figure(record, baseline)),
        _plot_section("curves", "Learning curves", charts.curves_figure(record)),
        _controller_section(record),
        _conditions_section(record),
        _size_section(record),
        _derived_section(record),
        _architectures_section(record, pictures),
        _settings_section(record),
    ]
    title = html.escape(f"{record.name}: katib-enas report")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n"
        f"<script>{plotly.offline.get_plotlyjs()}</script>\n</head>\n<body>\n"
        + "\n".join(sections)
        + f'\n<footer><p class="summary">katib-enas {__version__}, {stamp}</p></footer>\n'
        "</body>\n</html>\n"
    )


def _header(record: ExperimentRecord, notes: Sequence[str]) -> str:
    counts = Counter(t.condition.katib_name for t in record.trials)
    best = record.best
    best_text = (
        f"best trial <b>{html.escape(best.name)}</b>: {html.escape(record.objective.metric_name)}"
        f" = {best.objective:.4f}{_size(best)}{_tie_note(record)}"
        if best is not None and best.objective is not None
        else no_best(record.status)
    )
    status = html.escape(record.status + (f" ({record.reason})" if record.reason else ""))
    counted = ", ".join(f"{n} {html.escape(c)}" for c, n in sorted(counts.items()))
    shared = (SHARED_SCORE_NOTE,) if record.shares_weights else ()
    note_html = "".join(
        f'<p class="note">{html.escape(n)}</p>' for n in (*shared, *record.notes, *notes)
    )
    return (
        f"<header><h1>{html.escape(record.name)}</h1>"
        f'<p class="summary">{html.escape(record.source)} &middot; {status or "-"} &middot; '
        f"{len(record.trials)} trials ({counted or 'none'}) &middot; {best_text}</p>"
        f"{note_html}</header>"
    )


def _size(trial: TrialRow) -> str:
    parts = [f"{trial.parameters:,} parameters"] if trial.parameters is not None else []
    if trial.test_accuracy is not None:
        parts.append(f"{TEST_ACCURACY} {trial.test_accuracy:.4f}")
    return f" ({', '.join(parts)})" if parts else ""


def _tie_note(record: ExperimentRecord) -> str:
    """Said when the best value is shared: which one is shown and why."""
    ranked = record.ranked()
    tied = [t for t in ranked if t.objective == ranked[0].objective]
    if len(tied) < 2:
        return ""
    return f"; {len(tied)} trials tie at this value: the smallest is named (ties go by size)"


def _plot_section(anchor: str, title: str, figure: go.Figure | None) -> str:
    if figure is None:
        return ""
    return f'<section id="{anchor}"><h2>{title}</h2>{_plot(figure, anchor)}</section>'


def _plot(figure: go.Figure, anchor: str) -> str:
    height = figure.layout.height or 400  # a heatmap grows with its rows
    body = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"plot-{anchor}",
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="plot" style="height: {height}px">{body}</div>'


def _controller_section(record: ExperimentRecord) -> str:
    figure = charts.controller_figure(record)
    if figure is None:
        return (
            '<section id="controller"><h2>Controller</h2><p class="note">'
            "No controller history in this record (see the note above).</p></section>"
        )
    heatmap = charts.decisions_figure(record)
    learned = (
        "<p>What it learned: each decision's probabilities, averaged over the update's batch "
        "(the LSTM follows each trial's earlier choices), as its last gradient step found "
        "them.</p>" + _plot(heatmap, "decisions")
        if heatmap is not None
        else ""
    )
    return (
        f'<section id="controller"><h2>Controller</h2>{_plot(figure, "controller")}'
        f"{learned}</section>"
    )


def _conditions_section(record: ExperimentRecord) -> str:
    plot = _plot(charts.conditions_figure(record), "conditions")
    table = trials_table(record, record.trials, with_message=True)
    return f'<section id="conditions"><h2>Trials</h2>{plot}{table}</section>'


def trials_table(
    record: ExperimentRecord, trials: Sequence[TrialRow], *, with_message: bool
) -> str:
    """Trials as a table: value, Test-Accuracy (where any trial reported it), seconds, size."""
    metric = html.escape(record.objective.metric_name)
    with_test = any(t.test_accuracy is not None for t in record.trials)
    best = record.best
    rows = []
    for t in trials:
        mark = " &#9733;" if best is not None and t.name == best.name else ""
        cells = [
            f'<td class="num">{t.seq}</td><td>{html.escape(t.name)}{mark}</td>',
            f"<td>{html.escape(t.condition.katib_name)}</td>",
            f'<td class="num">{_number(t.objective)}</td>',
            f'<td class="num">{_number(t.test_accuracy)}</td>' if with_test else "",
            f'<td class="num">{"" if t.seconds is None else f"{t.seconds:.1f}"}</td>',
            f'<td class="num">{"" if t.parameters is None else f"{t.parameters:,}"}</td>',
            f"<td>{html.escape(t.message)}</td>" if with_message else "",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    heads = [
        "#",
        "trial",
        "condition",
        metric,
        *([TEST_ACCURACY] if with_test else []),
        "seconds",
        "parameters",
        *(["why it ended so"] if with_message else []),
    ]
    head = "".join(f"<th>{h}</th>" for h in heads)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _size_section(record: ExperimentRecord) -> str:
    figure = charts.size_figure(record)
    if figure is None:
        return ""
    front = record.pareto()
    table = trials_table(record, front, with_message=False)
    return (
        f'<section id="size"><h2>Size</h2>{_plot(figure, "size")}'
        f"<h3>Pareto front: {len(front)} trial{'s' if len(front) != 1 else ''} that nothing "
        "smaller beats (&#9733; the best)</h3>"
        f"{table}<p>To retrain the smallest trial within a tolerance of the best: "
        "<code>katib-enas pick RUN_DIR --within 0.5%</code> (add <code>--emit-job FILE</code> "
        "for a cluster Job).</p></section>"
    )


def _architectures_section(record: ExperimentRecord, pictures: Sequence[Picture]) -> str:
    if not pictures:
        return (
            '<section id="architectures"><h2>Best architectures</h2>'
            "<p>No trial has an objective value yet.</p></section>"
        )
    metric = html.escape(record.objective.metric_name)
    parts = []
    for picture in pictures:
        t = picture.trial
        size = f", {t.parameters:,} parameters" if t.parameters is not None else ""
        if t.test_accuracy is not None:
            size += f", {TEST_ACCURACY} {t.test_accuracy:.4f}"
        drawing = (
            _inline_svg(picture.svg)
            if picture.svg is not None
            else '<p class="note">No picture: Graphviz\'s dot is not installed.</p>'
        )
        layers = html.escape("\n".join(t.layers))
        parts.append(
            f'<div class="arch"><h3>#{picture.rank}: {html.escape(t.name)}, {metric} = '
            f"{t.objective:.4f}{size}</h3>{drawing}<pre>{layers}</pre></div>"
        )
    return (
        f'<section id="architectures"><h2>Best architectures (top {len(pictures)})</h2>'
        f"{''.join(parts)}</section>"
    )


def _derived_section(record: ExperimentRecord) -> str:
    """With weight sharing: `derive`'s ranking once it ran, else how to get one."""
    if not record.derived and not record.shares_weights:
        return ""
    if not record.derived:
        body = (
            "<p>The trials' scores only rank children. Rank the trained controller's best "
            "architectures with <code>katib-enas derive RUN_DIR</code> (while the run's store "
            "is there), then retrain one with <code>katib-enas retrain RUN_DIR --derived "
            "1</code>.</p>"
        )
    else:
        rows = "".join(
            f'<tr><td class="num">{e.rank}</td><td class="num">'
            f"{'' if e.score is None else f'{e.score:.4f}'}</td>"
            f"<td>{html.escape(e.score_name)}</td>"
            f"<td><pre>{html.escape(chr(10).join(e.layers))}</pre></td></tr>"
            for e in record.derived
        )
        body = (
            "<p>Ranked by <code>katib-enas derive</code> (derived.json); retrain one with "
            "<code>katib-enas retrain RUN_DIR --derived RANK</code>.</p><table><thead><tr>"
            "<th>rank</th><th>score</th><th>scored as</th><th>layers</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return f'<section id="derived"><h2>Derived architectures</h2>{body}</section>'


def _inline_svg(svg: str) -> str:
    """Graphviz's SVG without its XML prologue and DOCTYPE, which HTML does not allow inline."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _settings_section(record: ExperimentRecord) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in record.settings.items()
    )
    return f'<section id="settings"><h2>Settings</h2><table>{rows}</table></section>'
