"""The metrics-collector seam of local mode: one class per Katib collector kind.

A local run makes one collector from the Experiment's `metricsCollectorSpec`
(`katib_enas.local.collectors.create`) and calls it in this order:

1. `start(store)` once, before the first trial (Push starts its DB manager here);
2. per trial, `adapt(argv, env, trial_dir)` while the trial's command is built: it returns the
   command words (and may add to `env`) so that the trial reports where this collector reads;
   `shell` says whether Katib's pod webhook runs the command through `sh -c` for this kind;
3. per trial, after its process ended, `collect(log_path, trial_dir)`: the metric logs it found
   (None when they reached the store another way, as with Push), and a note for the trial's
   message when the output could not be read;
4. `stop()` once, at the end, even after an error.

`printed_names(log_path, trial_dir)` lists every metric name a finished trial's output shows
(listed in the Experiment or not), for the message of a trial that reported no objective.

While a trial runs, early stopping (`local.early_stopping`) reads its metrics as Katib's
collector sidecar does: `live_file` names the file to follow (None: this kind has no sidecar,
so Katib applies no early-stopping rule) and `parse_live` reads its new complete lines.

A collector may assume `start` ran before `adapt` and `collect`, and that `collect` runs once per
trial run. It must not raise on a trial's bad output: that is the trial's failure, reported in
the note. Adding a kind is one module in this package plus one line in `COLLECTORS`.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from katib_enas.experiment.metric_logs import MetricLog, names_in_text

if TYPE_CHECKING:
    from katib_enas.experiment import MetricsCollector
    from katib_enas.local.store import Store


class Collector(abc.ABC):
    """How trials of one collector kind get their metrics recorded on this machine."""

    kind: ClassVar[str]
    shell: ClassVar[bool]  # Katib's webhook wraps the command in `sh -c` for this kind

    def __init__(self, spec: MetricsCollector, metric_names: tuple[str, ...]) -> None:
        self.spec = spec
        self.metric_names = metric_names

    def start(self, store: Store) -> None:  # noqa: B027 (optional hook)
        """Before the first trial."""

    def adapt(self, argv: list[str], env: dict[str, str], trial_dir: Path) -> list[str]:
        """The trial's command words, changed so that it reports where this collector reads."""
        return argv

    @abc.abstractmethod
    def collect(self, log_path: Path, trial_dir: Path) -> tuple[list[MetricLog] | None, str]:
        """(metric logs found or None, note) after the trial's process ended."""

    def printed_names(self, log_path: Path, trial_dir: Path) -> list[str]:
        """Every metric name the trial's output shows, listed in the Experiment or not: a
        MetricsUnavailable trial's message names them (a misspelt metric shows at once)."""
        return names_in_text(read_lines(log_path), self.spec.filters)

    def stop(self) -> None:  # noqa: B027 (optional hook)
        """After the last trial."""

    def live_file(self, log_path: Path, trial_dir: Path) -> Path | None:
        """The file the trial's metrics appear in while it runs (None: not followed)."""
        return None

    def parse_live(self, lines: list[str]) -> list[MetricLog]:
        """Metric logs in new complete lines of `live_file`; a bad line is skipped."""
        return []


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
