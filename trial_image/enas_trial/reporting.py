"""Metric reporting in the three ways Katib collects metrics: StdOut, File and Push.

- StdOut (always): one line per metric, `<RFC3339 timestamp> Name=value`. Katib's default
  collector takes the first word as the point's timestamp when it parses as RFC3339, and the
  default regex `([\\w|-]+)\\s*=\\s*(...)` takes the rest. Nothing else the trial prints contains
  `Name=number` for a metric name, so no other line can be mistaken for a point.
- File: the same text lines, or one JSON object per epoch with string values and a `timestamp`
  (numbers are ignored by Katib's JSON parser). The file is rewritten whole and atomically.
- Push: `kubeflow.katib.report_metrics`, imported only when asked for (it costs ~3 s).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from enas_trial.errors import TrialInputError, TrialRuntimeError
from katib_enas.atomic import write_atomic

TRAINING_ACCURACY = "Training-Accuracy"
TRAINING_LOSS = "Training-Loss"
VALIDATION_ACCURACY = "Validation-Accuracy"
VALIDATION_LOSS = "Validation-Loss"
TEST_ACCURACY = "Test-Accuracy"
PARAMETER_COUNT = "Parameter-Count"

PushFunction = Callable[[Mapping[str, float]], None]


def rfc3339(moment: datetime.datetime | None = None) -> str:
    """UTC, microseconds, `Z` suffix: what Go's `time.RFC3339Nano` parser accepts."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_value(value: float) -> str:
    """A number Katib's regex reads whole (`6g` never prints `nan` for finite values); whole
    numbers in full, so a parameter count keeps every digit."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".6g")


def metric_lines(metrics: Mapping[str, float], timestamp: str) -> list[str]:
    return [f"{timestamp} {name}={format_value(v)}" for name, v in metrics.items()]


def connect_push(db_manager_address: str) -> PushFunction:
    """A function that pushes metrics to Katib's DB manager; fails now if it cannot work."""
    if not os.environ.get("KATIB_TRIAL_NAME"):
        raise TrialInputError(
            "--push-metrics: environment variable KATIB_TRIAL_NAME is not set "
            "(Katib sets it in trial pods)"
        )
    try:
        from kubeflow.katib import report_metrics
    except ImportError as error:
        raise TrialInputError(
            f"--push-metrics needs the kubeflow-katib package ({error})"
        ) from None

    def push(metrics: Mapping[str, float]) -> None:
        try:
            try:
                report_metrics(dict(metrics), db_manager_address=db_manager_address, timeout=30)
            except OSError:
                # The SDK first reads the pod's service-account namespace file (and never uses
                # it); without that mount, send the very same request through its stubs.
                _report_direct(metrics, db_manager_address)
        except (RuntimeError, ValueError) as error:
            raise TrialRuntimeError(
                f"pushing metrics to {db_manager_address} failed: {str(error).splitlines()[0]}"
            ) from None

    return push


def _report_direct(metrics: Mapping[str, float], db_manager_address: str) -> None:
    """One `ReportObservationLog`, as `report_metrics` sends it, with the SDK's generated stubs."""
    import grpc
    from kubeflow.katib import katib_api_pb2 as api
    from kubeflow.katib import katib_api_pb2_grpc as api_grpc

    timestamp = rfc3339()
    logs = [
        api.MetricLog(time_stamp=timestamp, metric=api.Metric(name=name, value=str(value)))
        for name, value in metrics.items()
    ]
    request = api.ReportObservationLogRequest(
        trial_name=os.environ["KATIB_TRIAL_NAME"],
        observation_log=api.ObservationLog(metric_logs=logs),
    )
    with grpc.insecure_channel(db_manager_address) as channel:
        try:
            api_grpc.DBManagerStub(channel).ReportObservationLog(request, timeout=30)
        except grpc.RpcError as error:
            raise RuntimeError(f"{error.code().name}: {error.details()}") from None


class MetricReporter:
    """Sends one set of metrics (an epoch, or the final test) to every configured collector."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        metrics_file: Path | None = None,
        metrics_format: str = "text",
        push: PushFunction | None = None,
    ) -> None:
        self.stream = stream or sys.stdout
        self.metrics_file = metrics_file
        self.metrics_format = metrics_format
        self.push = push
        self._file_lines: list[str] = []

    def report(self, metrics: Mapping[str, float]) -> None:
        # A non-finite value would print as `nan`, which Katib's regex reads as an empty string.
        finite = {name: v for name, v in metrics.items() if math.isfinite(v)}
        if not finite:
            return
        timestamp = rfc3339()
        lines = metric_lines(finite, timestamp)
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
        if self.metrics_file is not None:
            if self.metrics_format == "json":
                record = {name: format_value(v) for name, v in finite.items()}
                self._file_lines.append(json.dumps({**record, "timestamp": timestamp}))
            else:
                self._file_lines.extend(lines)
            write_atomic(self.metrics_file, "".join(line + "\n" for line in self._file_lines))
        if self.push is not None:
            self.push(finite)
