"""Katib's vocabulary, spelled once: trial conditions, the objective, metric strategies, RFC3339
times, the single-quote JSON of NAS assignments and the DB manager's default address.

Every other package (the service, the local runner, the trial) takes these from here, so that a
condition name, a reward sign or a timestamp format can only be wrong in one place.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# Where Katib's DB manager listens in a standard install (`report_metrics`' default too).
DEFAULT_DB_MANAGER = "katib-db-manager.kubeflow:6789"


class Condition(enum.IntEnum):
    """Katib's `TrialStatus.TrialConditionType`: the proto enum numbers, the CRD's spellings."""

    CREATED = 0
    RUNNING = 1
    SUCCEEDED = 2
    KILLED = 3
    FAILED = 4
    METRICSUNAVAILABLE = 5
    EARLYSTOPPED = 6
    UNKNOWN = 7

    @property
    def katib_name(self) -> str:
        """As a Trial's status shows it (`MetricsUnavailable`, `EarlyStopped`...)."""
        return _KATIB_NAMES[self]

    @classmethod
    def from_katib_name(cls, name: str) -> Condition:
        for condition, spelled in _KATIB_NAMES.items():
            if spelled == name:
                return condition
        raise ValueError(f"not a Katib trial condition: {name!r}")

    @classmethod
    def from_number(cls, number: int) -> Condition:
        """The proto's number; anything out of range is UNKNOWN (a newer Katib, a bad request)."""
        return _BY_NUMBER.get(number, cls.UNKNOWN)  # a dict: called for every trial of a call


_BY_NUMBER = {int(condition): condition for condition in Condition}
_KATIB_NAMES = {
    Condition.CREATED: "Created",
    Condition.RUNNING: "Running",
    Condition.SUCCEEDED: "Succeeded",
    Condition.KILLED: "Killed",
    Condition.FAILED: "Failed",
    Condition.METRICSUNAVAILABLE: "MetricsUnavailable",
    Condition.EARLYSTOPPED: "EarlyStopped",
    Condition.UNKNOWN: "Unknown",
}
# Not finished yet; an interrupted local run re-runs these.
ACTIVE = frozenset({Condition.CREATED, Condition.RUNNING})
# Finished, one way or another (what counts towards maxTrialCount).
COMPLETED = frozenset(
    {
        Condition.SUCCEEDED,
        Condition.KILLED,
        Condition.FAILED,
        Condition.METRICSUNAVAILABLE,
        Condition.EARLYSTOPPED,
    }
)
# What Katib counts against maxFailedTrialCount.
FAILED_LIKE = frozenset({Condition.FAILED, Condition.METRICSUNAVAILABLE})
# Finished with an observation worth learning from.
SUCCEEDED_LIKE = frozenset({Condition.SUCCEEDED, Condition.EARLYSTOPPED})


class ObjectiveType(enum.Enum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


# `metricStrategies` values, and Katib's word for a metric a trial never reported.
STRATEGIES = ("min", "max", "latest")
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Objective:
    """`spec.objective`: the metric to optimise, which way, the goal, the other metrics and how
    each one's value is picked from a trial's log (`metricStrategies`)."""

    type: ObjectiveType
    metric_name: str
    goal: float | None = None
    additional_metric_names: tuple[str, ...] = ()
    # (metric, "min" | "max" | "latest"); a metric not listed follows the objective type.
    metric_strategies: tuple[tuple[str, str], ...] = ()

    @property
    def maximize(self) -> bool:
        return self.type is ObjectiveType.MAXIMIZE

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Objective first, as Katib's collectors expect it."""
        return (self.metric_name, *self.additional_metric_names)

    def strategy(self, metric: str) -> str:
        """Katib's defaulting: a metric without a strategy follows the objective type."""
        return dict(self.metric_strategies).get(metric, "max" if self.maximize else "min")

    def reward(self, value: float) -> float:
        """The controller maximises rewards: flip the sign of a minimised metric."""
        return value if self.maximize else -value

    def better(self, value: float, than: float | None) -> bool:
        if than is None:
            return True
        return value > than if self.maximize else value < than

    def reached(self, value: float) -> bool:
        """Whether an objective value meets the goal (never, when there is no goal)."""
        if self.goal is None:
            return False
        return value >= self.goal if self.maximize else value <= self.goal


def pick(summary: Mapping[str, str], strategy: str) -> str:
    """The value a metric strategy selects from `{min, max, latest}`; Katib falls back to the
    latest value when min/max is unavailable (a metric that is not a number)."""
    value = summary.get(strategy, UNAVAILABLE)
    if value == UNAVAILABLE:
        return summary.get("latest", UNAVAILABLE)
    return value


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def no_best(status: str) -> str:
    """What to say when no trial has an objective value: "yet" only while the experiment (or
    local run: `Interrupted` can be resumed) can still change that."""
    finished = status not in ("", "Running", "Interrupted", "Created", "Restarting")
    return "no trial succeeded" if finished else "no trial succeeded yet"


def format_time(moment: datetime | None = None) -> str:
    """UTC, microseconds, `Z`: what Go's `time.RFC3339Nano` parser and Katib's collectors take."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """An RFC3339 timestamp as an aware datetime (fractions beyond microseconds are cut)."""
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC3339 timestamp: {text!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micro}{zone}")


def is_rfc3339(text: str) -> bool:
    try:
        parse_time(text)
    except ValueError:
        return False
    return True


def unquote(text: str) -> str:
    """Strip the literal quotes around a value: under the Push collector nothing rewrites the
    command, so the `"..."` around `"${trialParameters.x}"` in the YAML reach argv."""
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def to_katib_json(value: object) -> str:
    """The stock `enas` quoting of assignments: compact JSON with every `"` replaced by `'`
    (JSON-string-safe for Katib's template substitution, shell-safe without spaces)."""
    return json.dumps(value, separators=(",", ":")).replace('"', "'")


def from_katib_json(text: str) -> object:
    """Undo `to_katib_json` on a value as a trial receives it; raises `json.JSONDecodeError`,
    also for what `json` itself refuses otherwise: a number of more than 4,300 digits
    (`ValueError`) or arrays nested thousands deep (`RecursionError`)."""
    document = unquote(text).replace("'", '"')
    try:
        return json.loads(document)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:
        reason = "a number too long" if isinstance(error, ValueError) else "nested too deep"
        raise json.JSONDecodeError(reason, document, 0) from None
