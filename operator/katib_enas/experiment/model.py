"""A loaded Experiment: frozen dataclasses of what the runner, the requests, the analysis and the
commands read (whether it can run on one machine is `katib_enas.local.runnable`'s question)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from katib_enas.core.katib import Objective
from katib_enas.core.settings import EnasSettings, parse_settings
from katib_enas.core.spaces import Space, parse_space
from katib_enas.core.spaces.operations import NasConfig, ParameterSpec
from katib_enas.experiment.containers import find_primary_container

# Our service answers to these names (katib-config registers `enas-torch`, optionally `enas`).
ENAS_ALGORITHMS = frozenset({"enas", "enas-torch"})


@dataclass(frozen=True)
class Algorithm:
    """`spec.algorithm` or `spec.earlyStopping`: a name and string settings, in YAML order."""

    name: str
    settings: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricsCollector:
    """`spec.metricsCollectorSpec`: how a trial's metrics are gathered."""

    kind: str = "StdOut"
    filters: tuple[str, ...] = ()
    file_path: str | None = None
    file_format: str = "TEXT"


@dataclass(frozen=True)
class TrialParameter:
    """One `trialTemplate.trialParameters` entry: `${trialParameters.<name>}` <- reference."""

    name: str
    reference: str
    description: str = ""


@dataclass(frozen=True)
class TrialTemplate:
    """`spec.trialTemplate`; `trial_spec` is the raw manifest that substitution works on."""

    primary_container_name: str
    trial_parameters: tuple[TrialParameter, ...]
    trial_spec: Mapping[str, Any] | None
    config_map: Mapping[str, Any] | None = None
    retain: bool = False

    def primary_container(self) -> Mapping[str, Any] | None:
        """The primary container of a batch Job spec, or None for other kinds."""
        return find_primary_container(self.trial_spec, self.primary_container_name)


@dataclass(frozen=True)
class Experiment:
    """A loaded Experiment: what the local runner and the suggestion request need."""

    name: str
    namespace: str
    objective: Objective
    algorithm: Algorithm
    early_stopping: Algorithm | None
    parallel_trial_count: int
    max_trial_count: int | None
    max_failed_trial_count: int | None
    metrics_collector: MetricsCollector
    trial_template: TrialTemplate
    nas_config: NasConfig | None
    parameters: tuple[ParameterSpec, ...]
    resume_policy: str

    def settings(self) -> EnasSettings:
        """The algorithm settings as the suggestion service parses them."""
        return parse_settings(self.algorithm.settings, self.name)

    def search_space(self) -> Space[Any] | None:
        """The parsed ENAS search space (None without nasConfig or for another algorithm)."""
        if self.nas_config is None or self.algorithm.name not in ENAS_ALGORITHMS:
            return None
        return parse_space(self.nas_config, self.settings())
