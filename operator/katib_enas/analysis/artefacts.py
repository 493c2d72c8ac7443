"""The files a finished search leaves for people, from one `ExperimentRecord`:

- `trials.csv`, `trials.json`: every trial, its condition, objective, every metric (numbers),
  seconds, parameters, decoded architecture and why it failed;
- `best-architecture.dot` and `.svg`: the best trial's architecture (macro layers and skips, or
  both micro cells); without Graphviz's `dot` only the `.dot`, and a note saying so;
- `report.html`: the plots, the top-k architectures and the settings in one offline page.

`katib-enas run` writes them at the end of every run, `katib-enas report RUN_DIR` rebuilds them,
`katib-enas results EXPERIMENT` writes them for a cluster experiment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from katib_enas.analysis import drawing, report_html
from katib_enas.analysis.records import ExperimentRecord, trials_csv, trials_json
from katib_enas.atomic import write_atomic

TRIALS_CSV = "trials.csv"
TRIALS_JSON = "trials.json"
REPORT = "report.html"
BEST_DOT = "best-architecture.dot"
BEST_SVG = "best-architecture.svg"
DEFAULT_TOP = 3


@dataclass
class Written:
    """What was written where, and what could not be (one line each)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_artefacts(
    record: ExperimentRecord,
    out_dir: Path,
    *,
    baseline: ExperimentRecord | None = None,
    top: int = DEFAULT_TOP,
) -> Written:
    """Write every file into `out_dir` (each replaced atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = Written()

    def put(name: str, text: str) -> None:
        write_atomic(out_dir / name, text)
        written.paths.append(out_dir / name)

    put(TRIALS_CSV, trials_csv(record))
    put(TRIALS_JSON, trials_json(record))
    if not drawing.dot_available():
        written.notes.append(drawing.NO_DOT)
    pictures, best_dot = draw_top(record, top)
    if best_dot is not None:
        put(BEST_DOT, best_dot)
    if pictures and pictures[0].svg is not None:
        put(BEST_SVG, pictures[0].svg)
    put(REPORT, report_html.render(record, pictures, baseline=baseline, notes=written.notes))
    return written


def draw_top(record: ExperimentRecord, top: int) -> tuple[list[report_html.Picture], str | None]:
    """The report's pictures of the `top` best trials, and the best one's Graphviz source."""
    pictures = []
    best_dot: str | None = None
    for rank, trial in enumerate(record.ranked()[: max(top, 1)], start=1):
        graph = drawing.draw(trial.assignments, f"#{rank} {trial.name}")
        if rank == 1 and graph is not None:
            best_dot = graph.source
        pictures.append(report_html.Picture(rank, trial, drawing.svg(graph) if graph else None))
    return pictures, best_dot
