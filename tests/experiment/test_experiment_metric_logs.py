"""Katib's metrics parsing rules: default regex, timestamps, filters, JSON strings, strategies."""

from __future__ import annotations

from katib_enas.core.katib import UNAVAILABLE
from katib_enas.experiment.metric_logs import (
    ZERO_TIME,
    MetricLog,
    objective_value,
    parse_json,
    parse_text,
    summarize,
    with_objective,
)

METRICS = ("Validation-Accuracy", "Training-Loss")


def test_default_regex_and_leading_timestamp() -> None:
    lines = [
        "2026-01-02T03:04:05.123456Z Validation-Accuracy=0.91",
        "epoch 2: Validation-Accuracy = 0.93 Training-Loss=1.5e-1",
        "2026-01-02T03:04:07Z Training-Loss=-0.25 other=3",
        "not-a-time Validation-Accuracy=0.5",
        "no metric here=1",
    ]
    logs = parse_text(lines, METRICS)
    assert logs == [
        MetricLog("2026-01-02T03:04:05.123456Z", "Validation-Accuracy", "0.91"),
        MetricLog(ZERO_TIME, "Validation-Accuracy", "0.93"),
        MetricLog(ZERO_TIME, "Training-Loss", "1.5e-1"),
        MetricLog("2026-01-02T03:04:07Z", "Training-Loss", "-0.25"),
        MetricLog(ZERO_TIME, "Validation-Accuracy", "0.5"),
    ]


def test_metrics_format_filters_replace_the_default() -> None:
    filters = [r"{metricName: ([\w|-]+), metricValue: ((-?\d+)(\.\d+)?)}"]
    lines = [
        "{metricName: Validation-Accuracy, metricValue: 0.8}",
        "Validation-Accuracy=0.99",
    ]
    assert parse_text(lines, METRICS, filters) == [
        MetricLog(ZERO_TIME, "Validation-Accuracy", "0.8")
    ]


def test_json_lines_take_string_values_only() -> None:
    lines = [
        '{"Validation-Accuracy": "0.7", "Training-Loss": 0.3, "timestamp": 1700000000.5}',
        '{"Validation-Accuracy": "0.75", "timestamp": "2026-01-02T03:04:05Z"}',
        "",
        '{"Validation-Accuracy": "0.8", "timestamp": "yesterday"}',
    ]
    assert parse_json(lines, METRICS) == [
        MetricLog("2023-11-14T22:13:20.500000Z", "Validation-Accuracy", "0.7"),
        MetricLog("2026-01-02T03:04:05Z", "Validation-Accuracy", "0.75"),
        MetricLog(ZERO_TIME, "Validation-Accuracy", "0.8"),
    ]


def test_missing_objective_becomes_unavailable() -> None:
    logs = [MetricLog(ZERO_TIME, "Training-Loss", "0.1")]
    stored = with_objective(logs, METRICS)
    assert stored == [MetricLog(ZERO_TIME, "Validation-Accuracy", UNAVAILABLE)]
    summary = summarize(stored)
    assert objective_value(summary, "Validation-Accuracy", "max") is None


def test_strategies_pick_min_max_and_latest_by_time() -> None:
    logs = [
        MetricLog("2026-01-01T00:00:03Z", "Validation-Accuracy", "0.6"),
        MetricLog("2026-01-01T00:00:01Z", "Validation-Accuracy", "0.9"),
        MetricLog("2026-01-01T00:00:02Z", "Validation-Accuracy", "0.4"),
    ]
    summary = summarize(logs)
    assert objective_value(summary, "Validation-Accuracy", "max") == 0.9
    assert objective_value(summary, "Validation-Accuracy", "min") == 0.4
    # The latest by timestamp, not the last line written.
    assert objective_value(summary, "Validation-Accuracy", "latest") == 0.6
