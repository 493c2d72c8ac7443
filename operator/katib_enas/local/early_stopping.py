"""`spec.earlyStopping` in local mode, decided the way Katib's `medianstop` decides it.

How Katib (v0.19) does it, read from its sources (`pkg/earlystopping/v1beta1/medianstop`,
`cmd/metricscollector/v1beta1/file-metricscollector`, the suggestion client):

- Rules are made when suggestions are: each trial created then keeps them for its life.
- `medianstop` takes `min_trials_required` (default 3, an integer > 0) and `start_step`
  (default 4, an integer >= 1), nothing else. For every Succeeded trial (EarlyStopped ones do not
  count) it averages the first `start_step` values of the objective metric in the observation
  log, ordered by time. With at least `min_trials_required` such trials it gives one rule: the
  objective `<` (maximize) or `>` (minimize) the mean of those averages (Katib calls it the
  median), applied from `start_step`; with fewer, no rule, and trials created then never stop
  early.
- The metrics collector beside the trial counts the objective's reports and compares once, at
  report number `start_step`, the best value so far (max or min by the objective type) with the
  rule. When it holds, the trial is killed and becomes EarlyStopped, with what it reported so
  far as its observation (Katib counts it completed, and learns from it).
- Push trials have no collector beside them: Katib applies no rule to them, and neither do we.

Other early-stopping algorithms are accepted (Katib would run their service) and not applied
locally, which the run says in one line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from katib_enas.core.katib import Condition, Objective, parse_time
from katib_enas.experiment import Algorithm, InvalidExperimentError
from katib_enas.experiment.metric_logs import ZERO_TIME, MetricLog
from katib_enas.local.collectors import Collector
from katib_enas.local.store import StoredTrial

log = logging.getLogger(__name__)

MEDIANSTOP = "medianstop"
_WHERE = "spec.earlyStopping.algorithmSettings"


@dataclass(frozen=True)
class StopRule:
    """Katib's `EarlyStoppingRule`: stop when `metric` `comparison` `value` at `start_step`."""

    metric: str
    value: float
    comparison: str  # "less" or "greater"
    start_step: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> StopRule:
        return cls(
            str(raw["metric"]),
            float(str(raw["value"])),
            str(raw["comparison"]),
            int(str(raw["start_step"])),
        )


@dataclass(frozen=True)
class MedianStop:
    """The `medianstop` settings."""

    min_trials_required: int = 3
    start_step: int = 4

    def rule(
        self,
        objective: Objective,
        trials: Sequence[StoredTrial],
        logs: Callable[[str], Sequence[MetricLog]],
    ) -> StopRule | None:
        """The rule for trials created now, given the experiment's `trials` so far."""
        averages = []
        for trial in trials:
            if trial.condition is not Condition.SUCCEEDED:
                continue
            values = _first_values(logs(trial.name), self.start_step)
            if values:
                averages.append(sum(values) / len(values))
        if not averages or len(averages) < self.min_trials_required:
            return None
        comparison = "less" if objective.maximize else "greater"
        return StopRule(
            objective.metric_name, sum(averages) / len(averages), comparison, self.start_step
        )


def _first_values(logs: Sequence[MetricLog], count: int) -> list[float]:
    """The first `count` numeric values of an observation log, by time (then report order)."""
    dated = []
    for index, entry in enumerate(logs):
        try:
            when = parse_time(entry.timestamp)
        except ValueError:
            when = parse_time(ZERO_TIME)
        try:
            value = float(entry.value)
        except ValueError:
            continue
        if math.isfinite(value):
            dated.append((when, index, value))
    dated.sort(key=lambda item: (item[0], item[1]))
    return [value for _, _, value in dated[:count]]


def parse_medianstop(algorithm: Algorithm) -> MedianStop:
    """The settings, checked as Katib's `ValidateEarlyStoppingSettings` checks them."""
    values = {"min_trials_required": 3, "start_step": 4}
    minimum = {"min_trials_required": 1, "start_step": 1}
    for index, (name, raw) in enumerate(algorithm.settings):
        if name not in values:
            raise InvalidExperimentError(
                f"{_WHERE}[{index}].name: unknown setting {name!r} for medianstop "
                "(min_trials_required, start_step)"
            )
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < minimum[name]:
            raise InvalidExperimentError(
                f"{_WHERE}[{index}].value: {name} must be an integer >= {minimum[name]}, "
                f"got {raw!r}"
            )
        values[name] = value
    return MedianStop(**values)


class Watch:
    """One running trial under a rule: its metrics file followed, its reports counted."""

    def __init__(self, rule: StopRule, maximize: bool, path: Path) -> None:
        self.rule = rule
        self.maximize = maximize
        self.path = path
        self.offset = 0
        self.reports = 0
        self.best: float | None = None
        self.decided = False

    def new_lines(self) -> list[str]:
        """Complete lines added since the last call (a file rewritten shorter starts over)."""
        try:
            with open(self.path, "rb") as handle:
                size = handle.seek(0, 2)
                if size < self.offset:
                    self.offset = 0
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", errors="replace").splitlines()

    def feed(self, value: float) -> str | None:
        """Take one report of the rule's metric; why to stop now, or None."""
        self.reports += 1
        if self.best is None or (value > self.best if self.maximize else value < self.best):
            self.best = value
        if self.decided or self.reports != self.rule.start_step:
            return None
        self.decided = True  # Katib compares once, at report number start_step
        sign = "<" if self.rule.comparison == "less" else ">"
        worse = self.best < self.rule.value if sign == "<" else self.best > self.rule.value
        if not worse:
            return None
        return (
            f"early stopped by medianstop: best {self.rule.metric} {self.best:g} after "
            f"{self.reports} reports {sign} median {self.rule.value:g}"
        )


class EarlyStopping:
    """The run's early stopping: rules for new trials, watches over running ones."""

    def __init__(self, spec: Algorithm | None, collector: Collector, objective: Objective) -> None:
        self.collector = collector
        self.objective = objective
        self.median: MedianStop | None = None
        self.watches: dict[str, Watch] = {}
        if spec is None:
            return
        if spec.name != MEDIANSTOP:
            log.warning(
                "spec.earlyStopping: %s is not applied locally (only medianstop is); "
                "trials run to the end",
                spec.name,
            )
            return
        self.median = parse_medianstop(spec)
        if collector.live_file(Path("trial.log"), Path(".")) is None:
            log.warning(
                "spec.earlyStopping: medianstop is not applied to %s-collector trials, as in "
                "Katib (its rules run in the collector sidecar these trials do not have)",
                collector.kind,
            )
            self.median = None

    def rule_for_new(
        self, trials: Sequence[StoredTrial], logs: Callable[[str], Sequence[MetricLog]]
    ) -> StopRule | None:
        """The rule trials created now get (None: they will not be stopped early)."""
        if self.median is None:
            return None
        return self.median.rule(self.objective, trials, logs)

    def watch(self, name: str, rule: StopRule | None, log_path: Path, trial_dir: Path) -> None:
        path = self.collector.live_file(log_path, trial_dir)
        if rule is not None and path is not None:
            self.watches[name] = Watch(rule, self.objective.maximize, path)

    def check(self, name: str) -> str | None:
        """Why trial `name` should stop now (None: let it run)."""
        watch = self.watches.get(name)
        if watch is None or watch.decided:
            return None
        for entry in self.collector.parse_live(watch.new_lines()):
            if entry.name != watch.rule.metric:
                continue
            try:
                value = float(entry.value)
            except ValueError:
                continue
            reason = watch.feed(value)
            if reason is not None or watch.decided:
                return reason
        return None

    def forget(self, name: str) -> None:
        self.watches.pop(name, None)
