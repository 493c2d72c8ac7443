"""File: a metrics file the trial writes (TEXT lines or JSON objects), parsed as Katib does.

On a cluster every pod has its own volume at the YAML's absolute path; here each trial gets its
own copy of that path under its directory, and the command's mentions of it are rewritten.
"""

from __future__ import annotations

from pathlib import Path

from katib_enas.experiment.metric_logs import (
    MetricLog,
    names_in_json,
    names_in_text,
    parse_json,
    parse_text,
)
from katib_enas.local.collectors.base import Collector, read_lines


class FileCollector(Collector):
    kind = "File"
    shell = True

    def metrics_file(self, trial_dir: Path) -> Path:
        path = self.spec.file_path
        assert path is not None  # Katib's defaults fill it in for this kind
        return trial_dir / "metrics" / path.lstrip("/")

    def adapt(self, argv: list[str], env: dict[str, str], trial_dir: Path) -> list[str]:
        local = self.metrics_file(trial_dir)
        local.parent.mkdir(parents=True, exist_ok=True)
        assert self.spec.file_path is not None
        return [word.replace(self.spec.file_path, str(local)) for word in argv]

    def collect(self, log_path: Path, trial_dir: Path) -> tuple[list[MetricLog] | None, str]:
        lines = read_lines(self.metrics_file(trial_dir))
        try:
            if self.spec.file_format == "JSON":
                return parse_json(lines, self.metric_names), ""
            return parse_text(lines, self.metric_names, self.spec.filters), ""
        except ValueError as error:
            return [], f"metrics file: {error}"

    def printed_names(self, log_path: Path, trial_dir: Path) -> list[str]:
        lines = read_lines(self.metrics_file(trial_dir))
        if self.spec.file_format == "JSON":
            return names_in_json(lines)
        return names_in_text(lines, self.spec.filters)

    def live_file(self, log_path: Path, trial_dir: Path) -> Path | None:
        return self.metrics_file(trial_dir)

    def parse_live(self, lines: list[str]) -> list[MetricLog]:
        if self.spec.file_format != "JSON":
            return parse_text(lines, self.metric_names, self.spec.filters)
        logs: list[MetricLog] = []
        for line in lines:
            try:
                logs.extend(parse_json([line], self.metric_names))
            except ValueError:
                continue  # Katib's sidecar would stop collecting; this trial's collect says so
        return logs
