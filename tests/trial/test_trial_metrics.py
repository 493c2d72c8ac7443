"""Metrics as Katib's three collectors read them: StdOut lines, File (text/JSON) and Push."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
import torch
from trial_support import TrialRunner

from enas_trial.reporting import MetricReporter
from katib_enas.katib_api import pb as api
from katib_enas.katib_api import pb_grpc as api_grpc

# Katib's default StdOut/File filter and its timestamp rule (file-metricscollector.go).
KATIB_FILTER = re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)")
RFC3339_NANO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
NO_TIMESTAMP = "0001-01-01T00:00:00Z"
METRICS = ["Validation-Accuracy", "Training-Accuracy", "Training-Loss", "Validation-Loss"]


def katib_text_points(log: str, metrics: list[str]) -> list[tuple[str, str, str]]:
    """(timestamp, name, value) as Katib's text parser collects them from a metrics log."""
    points = []
    for line in log.split("\n"):
        if not any(m in line for m in metrics):
            continue
        first, _, rest = line.partition(" ")
        timestamp = first if rest and RFC3339_NANO.match(first) else NO_TIMESTAMP
        for match in KATIB_FILTER.finditer(line):
            name, value = match.group(1).strip(), match.group(2).strip()
            if name in metrics:
                points.append((timestamp, name, value))
    return points


def katib_json_points(log: str, metrics: list[str]) -> list[tuple[str, str, str]]:
    """The same for the JSON format: string values only, `timestamp` key."""
    points = []
    for line in log.split("\n"):
        if not line:
            continue
        record = json.loads(line)
        stamp = record.get("timestamp")
        timestamp = stamp if isinstance(stamp, str) and RFC3339_NANO.match(stamp) else NO_TIMESTAMP
        points += [(timestamp, m, record[m]) for m in metrics if isinstance(record.get(m), str)]
    return points


def test_reporter_lines_parse_with_their_timestamp(tmp_path: Path) -> None:
    text_file, json_file = tmp_path / "m.log", tmp_path / "m.json"
    stream_path = tmp_path / "stdout"
    with stream_path.open("w") as stream, (tmp_path / "stdout2").open("w") as stream2:
        text = MetricReporter(stream=stream, metrics_file=text_file)
        as_json = MetricReporter(stream=stream2, metrics_file=json_file, metrics_format="json")
        for reporter in (text, as_json):
            reporter.report({"Validation-Accuracy": 0.5, "Validation-Loss": 1.25e-5})
            reporter.report({"Validation-Accuracy": 0.75, "Validation-Loss": float("nan")})
    for points in (
        katib_text_points(stream_path.read_text(), METRICS),
        katib_text_points(text_file.read_text(), METRICS),
        katib_json_points(json_file.read_text(), METRICS),
    ):
        # nan is left out: Katib would read it as an empty value.
        assert [(n, v) for _, n, v in points] == [
            ("Validation-Accuracy", "0.5"),
            ("Validation-Loss", "1.25e-05"),
            ("Validation-Accuracy", "0.75"),
        ]
        stamps = [datetime.datetime.fromisoformat(t) for t, _, _ in points]
        assert all(s.tzinfo is not None for s in stamps) and stamps == sorted(stamps)
        assert abs(stamps[0] - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=1)


class RecordingDBManager(api_grpc.DBManagerServicer):  # type: ignore[misc]
    """Katib's DB manager, reduced to recording `ReportObservationLog` calls."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def ReportObservationLog(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.requests.append(request)
        return api.ReportObservationLogReply()


@pytest.fixture
def db_manager() -> Iterator[tuple[RecordingDBManager, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = RecordingDBManager()
    api_grpc.add_DBManagerServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(grace=None)


@pytest.mark.slow
def test_trial_reports_through_every_collector(
    run_trial: TrialRunner,
    digits_assignments: tuple[str, str],
    db_manager: tuple[RecordingDBManager, int],
    tmp_path: Path,
) -> None:
    servicer, port = db_manager
    architecture, config = digits_assignments
    metrics_file, summary_file = tmp_path / "out" / "metrics.json", tmp_path / "summary.json"
    model_file = tmp_path / "model.pt"
    result = run_trial(
        f'--architecture="{architecture}"',
        f'--nn_config="{config}"',
        '--num_epochs="2"',
        "--dataset=digits",
        "--batch-size=32",
        f"--metrics-file={metrics_file}",
        "--metrics-format=json",
        "--push-metrics",
        f"--db-manager-address=127.0.0.1:{port}",
        f"--summary-file={summary_file}",
        f"--save-model={model_file}",
        env={"KATIB_TRIAL_NAME": "enas-digits-abc123"},
    )
    assert result.returncode == 0, result.stderr

    # StdOut collector: stdout and stderr both land in metrics.log; only metric lines count.
    points = katib_text_points(result.stdout + result.stderr, [*METRICS, "Test-Accuracy"])
    assert [n for _, n, _ in points].count("Validation-Accuracy") == 2
    assert all(t != NO_TIMESTAMP for t, _, _ in points)
    accuracies = [float(v) for _, n, v in points if n == "Validation-Accuracy"]
    assert all(0.0 <= a <= 1.0 for a in accuracies)

    # File collector (JSON): the same values as strings, with timestamps.
    file_points = katib_json_points(metrics_file.read_text(), [*METRICS, "Test-Accuracy"])
    assert sorted(file_points) == sorted(points)

    # Push collector: one ReportObservationLog per epoch plus the final test accuracy.
    assert len(servicer.requests) == 3
    assert {r.trial_name for r in servicer.requests} == {"enas-digits-abc123"}
    pushed = [
        (log.metric.name, float(log.metric.value))
        for r in servicer.requests
        for log in r.observation_log.metric_logs
    ]
    assert [v for n, v in pushed if n == "Validation-Accuracy"] == pytest.approx(accuracies, 1e-5)

    summary = json.loads(summary_file.read_text())
    assert summary["best_validation_accuracy"] == pytest.approx(max(accuracies), abs=1e-5)
    assert summary["final_validation_accuracy"] == pytest.approx(accuracies[-1], abs=1e-5)
    assert summary["epochs"] == 2 and summary["parameters"] > 0
    assert f"{summary['parameters']:,} parameters" in result.stderr

    checkpoint = torch.load(model_file, weights_only=True)
    assert checkpoint["architecture"] == architecture
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    state = checkpoint["state_dict"]
    weights = sum(t.numel() for k, t in state.items() if not k.endswith(buffers))
    assert weights == summary["parameters"]
