"""The live report `katib-enas serve` serves on its metrics port: `/` links the pages,
`/report` is the same report.html as a local run's, `/trials.csv` and `/trials.json` the same
tables, for the experiments this service is asked about.

On a cluster nothing else has this view: the Katib UI's NAS table is broken, and the
controller's history lives only in the service. Katib sends every trial in each
`GetSuggestions` call; the servicer hands that list (already converted) and each controller
update here. What the gRPC path pays is keeping a reference: the latest trial list per
experiment replaces the previous one, so memory is one request's trials per experiment, for at
most `MAX_EXPERIMENTS` experiments, plus at most `MAX_UPDATES` controller updates each (the
per-decision probabilities of at most `MAX_DECISION_UPDATES` of them).
Pages are built when asked for, one build at a time, and the last one is cached until a new
request arrives: a browser left open costs a build per new trial at most.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from katib_enas.analysis.live_source import record_from_service
from katib_enas.analysis.records import ExperimentRecord, trials_csv, trials_json
from katib_enas.core.strategies import LearnReport
from katib_enas.core.updates import ControllerUpdate
from katib_enas.service.servicer import SeenRequest
from katib_enas.service.web import Page, PageSource

MAX_EXPERIMENTS = 8  # Katib runs one service per experiment; a shared `serve` may see more
MAX_UPDATES = 10_000  # a 1,000-trial search with batches of 1 makes 1,000
# Updates whose per-decision probabilities are kept for the heatmap (a large macro space has
# ~1,300 per update): past this, every other one drops them, oldest first, evenly thinned.
MAX_DECISION_UPDATES = 256
REFRESH_S = 60  # the report page reloads itself this often
HTML = "text/html; charset=utf-8"
NO_EXPERIMENT = (
    "Katib has not asked this suggestion service for suggestions since it started: "
    "no experiment to show yet."
)


@dataclass
class _Seen:
    """One experiment as the service last saw it."""

    request: SeenRequest
    updates: OrderedDict[int, ControllerUpdate] = field(default_factory=OrderedDict)
    version: int = 0  # bumped by every request and update: the cache key


class LiveReport:
    """The listeners the suggestion server calls, and the pages built from what they kept."""

    def __init__(self, source: str = "suggestion service", *, top: int = 3) -> None:
        self.source = source
        self.top = top
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._lock = threading.Lock()  # guards _seen (taken briefly, also on the gRPC path)
        self._build = threading.Lock()  # one page build at a time: bounded CPU
        self._cache: tuple[tuple[str, int, str], Page] | None = None  # the last page built
        self._records: tuple[tuple[str, int], ExperimentRecord] | None = None  # and its record

    # --- the gRPC path: keep references, nothing more ------------------------------------
    def on_request(self, request: SeenRequest) -> None:
        name = request.experiment.name
        with self._lock:
            seen = self._seen.get(name)
            if seen is None:
                seen = self._seen[name] = _Seen(request)
            seen.request = request
            seen.version += 1
            self._seen.move_to_end(name)
            while len(self._seen) > MAX_EXPERIMENTS:
                self._seen.popitem(last=False)

    def on_learned(self, name: str, report: LearnReport) -> None:
        with self._lock:
            seen = self._seen.get(name)
            if seen is None:
                return
            if report.replayed:  # a fresh controller learned the whole history again
                seen.updates.clear()
            for update in report.history:
                seen.updates[update.number] = update
            while len(seen.updates) > MAX_UPDATES:
                seen.updates.popitem(last=False)
            _thin_decisions(seen.updates)
            seen.version += 1

    # --- the pages ---------------------------------------------------------------------------
    def pages(self) -> dict[str, PageSource]:
        return {
            "/": self._index,
            "/report": self._page("report", self._report_html),
            "/trials.csv": self._page("csv", lambda r: trials_csv(r).encode()),
            "/trials.json": self._page("json", lambda r: trials_json(r).encode()),
        }

    def record(self, name: str | None = None) -> ExperimentRecord | None:
        """The record of `name` (default: the experiment asked about last), None if unseen."""
        with self._lock:
            seen = self._pick(name)
            if seen is None:
                return None
            request, updates = seen.request, list(seen.updates.values())
        return record_from_service(
            request.experiment,
            request.trials,
            request.start_times(),
            updates,
            source=self.source,
        )

    def _record_of(self, name: str, version: int) -> ExperimentRecord | None:
        """The record of `name` as of `version`, built once for all pages (under `_build`)."""
        if self._records is None or self._records[0] != (name, version):
            record = self.record(name)
            if record is None:
                return None
            self._records = ((name, version), record)
        return self._records[1]

    def _pick(self, name: str | None) -> _Seen | None:
        if name is None:
            return next(reversed(self._seen.values()), None)
        return self._seen.get(name)

    def _page(self, kind: str, body: Callable[[ExperimentRecord], bytes]) -> PageSource:
        types = {"report": HTML, "csv": "text/csv; charset=utf-8", "json": "application/json"}

        def page(query: Mapping[str, str]) -> Page:
            name = query.get("experiment")
            with self._lock:
                seen = self._pick(name)
                key = None if seen is None else (seen.request.experiment.name, seen.version, kind)
            if key is None:
                what = NO_EXPERIMENT if name is None else f"No experiment {name!r} seen here."
                return Page(HTML, _small_page("Not found", what), "404 Not Found")
            with self._build:
                if self._cache is not None and self._cache[0] == key:
                    return self._cache[1]
                record = self._record_of(key[0], key[1])
                if record is None:  # dropped for a newer experiment meanwhile
                    return Page(HTML, _small_page("Not found", "Dropped: see /."), "404 Not Found")
                built = Page(types[kind], body(record))
                self._cache = (key, built)
            return built

        return page

    def _report_html(self, record: ExperimentRecord) -> bytes:
        from katib_enas.analysis import drawing, report_html  # plotly: only when asked for
        from katib_enas.analysis.artefacts import draw_top

        pictures, _ = draw_top(record, self.top)
        notes = () if drawing.dot_available() else (drawing.NO_DOT_HERE,)
        text = report_html.render(record, pictures, notes=notes)
        refresh = f'<head>\n<meta http-equiv="refresh" content="{REFRESH_S}">'
        return text.replace("<head>", refresh, 1).encode()

    def _index(self, _query: Mapping[str, str]) -> Page:
        with self._lock:
            rows = [
                (name, len(seen.request.trials), len(seen.updates))
                for name, seen in reversed(self._seen.items())
            ]
        if not rows:
            return Page(HTML, _small_page("katib-enas", NO_EXPERIMENT))
        items = "".join(
            f"<li><b>{html.escape(name)}</b>: {trials} trials, {updates} controller updates "
            + " &middot; ".join(
                f'<a href="{path}?experiment={html.escape(quote(name))}">{label}</a>'
                for path, label in (
                    ("report", "report"),
                    ("trials.csv", "trials.csv"),
                    ("trials.json", "trials.json"),
                )
            )
            + "</li>"
            for name, trials, updates in rows
        )
        body = (
            f"<p>Experiments this suggestion service was asked about, latest first "
            f'(<a href="metrics">Prometheus metrics</a>):</p><ul>{items}</ul>'
        )
        return Page(HTML, _small_page("katib-enas", body, raw=True))


def _thin_decisions(updates: OrderedDict[int, ControllerUpdate]) -> None:
    """Keep at most `MAX_DECISION_UPDATES` updates' decisions, spread over the whole search."""
    kept = [number for number, u in updates.items() if u.decisions]
    if len(kept) <= MAX_DECISION_UPDATES:
        return
    for number in kept[:-1:2]:  # every other one, never the latest
        updates[number] = replace(updates[number], decisions=())


def _small_page(title: str, text: str, *, raw: bool = False) -> bytes:
    body = text if raw else f"<p>{html.escape(text)}</p>"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>\n"
    ).encode()
