"""StdOut (Katib's default): metric lines in what the trial printed, parsed as Katib does."""

from __future__ import annotations

from pathlib import Path

from katib_enas.experiment.metric_logs import MetricLog, parse_text
from katib_enas.local.collectors.base import Collector, read_lines


class StdOutCollector(Collector):
    kind = "StdOut"
    shell = True

    def collect(self, log_path: Path, trial_dir: Path) -> tuple[list[MetricLog] | None, str]:
        lines = read_lines(log_path)
        return parse_text(lines, self.metric_names, self.spec.filters), ""

    def live_file(self, log_path: Path, trial_dir: Path) -> Path | None:
        return log_path

    def parse_live(self, lines: list[str]) -> list[MetricLog]:
        return parse_text(lines, self.metric_names, self.spec.filters)
