"""Turning a trial's output into metric logs and one observation, the way Katib does.

Katib's StdOut and File collectors parse text lines (a default regex or the Experiment's
`metricsFormat` filters; a leading RFC3339 timestamp dates the line) or JSON lines (string values
only, optional `timestamp`). When the objective metric never appears, the log holds the single
value `unavailable` and the trial becomes MetricsUnavailable. The per-metric value a trial shows
follows `metricStrategies`: min, max or the latest by timestamp.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from katib_enas.core.katib import UNAVAILABLE, format_time, is_rfc3339, parse_time, pick
from katib_enas.core.trials import parse_metric

DEFAULT_FILTER = r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class MetricLog:
    """One reported value: Katib's `MetricLog{time_stamp, metric{name, value}}`."""

    timestamp: str
    name: str
    value: str


@dataclass(frozen=True)
class MetricSummary:
    """A metric over a trial's whole log, as Katib's Trial status shows it (strings)."""

    name: str
    min: str
    max: str
    latest: str

    def pick(self, strategy: str) -> str:
        """The value `metricStrategies` selects (Katib's fallback to latest included)."""
        return pick({"min": self.min, "max": self.max, "latest": self.latest}, strategy)


def parse_text(
    lines: Iterable[str], metrics: Sequence[str], filters: Sequence[str] = ()
) -> list[MetricLog]:
    """Katib's TEXT parsing: lines mentioning a metric name, matched by every filter."""
    patterns = [re.compile(f) for f in (filters or (DEFAULT_FILTER,))]
    logs: list[MetricLog] = []
    for raw_line in lines:
        line = raw_line.rstrip("\r\n")
        if not any(name in line for name in metrics):
            continue
        timestamp = ZERO_TIME
        head, sep, _ = line.partition(" ")
        if sep and is_rfc3339(head):
            timestamp = head
        for pattern in patterns:
            for match in pattern.finditer(line):
                name, value = match.group(1).strip(), (match.group(2) or "").strip()
                if name in metrics:
                    logs.append(MetricLog(timestamp, name, value))
    return logs


def names_in_text(lines: Iterable[str], filters: Sequence[str] = ()) -> list[str]:
    """Every name the filters read a number for, in order of first appearance, whether or not
    the Experiment lists it: what a MetricsUnavailable trial's message shows it printed."""
    patterns = [re.compile(f) for f in (filters or (DEFAULT_FILTER,))]
    seen: dict[str, None] = {}
    for line in lines:
        for pattern in patterns:
            for match in pattern.finditer(line):
                value = match.group(2) or ""
                if any(c.isdigit() for c in value):
                    seen[match.group(1).strip()] = None
    return list(seen)


def names_in_json(lines: Iterable[str]) -> list[str]:
    """Every key with a string value in JSON-lines metrics (`timestamp` aside)."""
    seen: dict[str, None] = {}
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            seen.update(
                (k, None) for k, v in obj.items() if isinstance(v, str) and k != "timestamp"
            )
    return list(seen)


def parse_json(lines: Iterable[str], metrics: Sequence[str]) -> list[MetricLog]:
    """Katib's JSON parsing: one object per line; only string values count.

    Raises ValueError on a line that is not a JSON object, as Katib's collector fails then.
    """
    logs: list[MetricLog] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"line {number} is not JSON") from None
        if not isinstance(obj, dict):
            raise ValueError(f"line {number} is not a JSON object")
        timestamp = _json_timestamp(obj.get("timestamp"))
        for name in metrics:
            value = obj.get(name)
            if isinstance(value, str):
                logs.append(MetricLog(timestamp, name, value))
    return logs


def _json_timestamp(value: object) -> str:
    if isinstance(value, str) and value and is_rfc3339(value):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format_time(datetime.fromtimestamp(float(value), tz=UTC))
    return ZERO_TIME


def with_objective(logs: Sequence[MetricLog], metrics: Sequence[str]) -> list[MetricLog]:
    """The log to store: `logs`, or the single `unavailable` objective value when the
    objective (metrics[0]) was never reported."""
    if any(log.name == metrics[0] for log in logs):
        return list(logs)
    return [MetricLog(ZERO_TIME, metrics[0], UNAVAILABLE)]


def summarize(logs: Sequence[MetricLog]) -> dict[str, MetricSummary]:
    """Min, max and latest (by timestamp, then report order) per metric name."""
    out: dict[str, MetricSummary] = {}
    order: dict[str, list[tuple[datetime, int, str]]] = {}
    for index, log in enumerate(logs):
        try:
            when = parse_time(log.timestamp)
        except ValueError:
            when = parse_time(ZERO_TIME)
        order.setdefault(log.name, []).append((when, index, log.value))
    for name, entries in order.items():
        numbers = [v for v in (parse_metric(value) for _, _, value in entries) if v is not None]
        latest = max(entries, key=lambda e: (e[0], e[1]))[2]
        low = _format(min(numbers)) if numbers else UNAVAILABLE
        high = _format(max(numbers)) if numbers else UNAVAILABLE
        out[name] = MetricSummary(name, low, high, latest)
    return out


def objective_value(
    summaries: Mapping[str, MetricSummary], metric: str, strategy: str
) -> float | None:
    """The trial's objective value under `strategy`, or None when unavailable."""
    summary = summaries.get(metric)
    if summary is None:
        return None
    return parse_metric(summary.pick(strategy))


def _format(value: float) -> str:
    return repr(value) if not value.is_integer() else str(value)
