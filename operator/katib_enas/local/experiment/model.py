"""A loaded Experiment: frozen dataclasses of what the local runner and the requests need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from katib_enas.core.katib import Objective
from katib_enas.core.settings import EnasSettings, parse_settings
from katib_enas.core.spaces import Space, parse_space
from katib_enas.core.spaces.operations import NasConfig, ParameterSpec
from katib_enas.local.collectors import LOCAL_KINDS

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
        if self.trial_spec is None:
            return None
        containers = _dig(self.trial_spec, "spec", "template", "spec", "containers")
        if not isinstance(containers, list):
            return None
        for container in containers:
            if isinstance(container, dict) and container.get("name") == self.primary_container_name:
                return container
        return None


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

    def local_problems(self, *, remote_suggestion: bool = False) -> list[str]:
        """Why this experiment cannot run on one machine (empty: it can).

        Without a remote suggestion service (`--suggestion-address`) only our ENAS service runs.
        """
        problems = []
        if not remote_suggestion and self.algorithm.name not in ENAS_ALGORITHMS:
            problems.append(
                f"spec.algorithm.algorithmName: the built-in suggestion service runs "
                f"enas-torch (or enas), not {self.algorithm.name!r}; give --suggestion-address "
                "for another service"
            )
        template = self.trial_template
        if template.trial_spec is None:
            problems.append(
                "spec.trialTemplate.configMap: local mode needs the trial spec inline "
                "(spec.trialTemplate.trialSpec)"
            )
        else:
            kind = template.trial_spec.get("kind")
            if kind != "Job":
                problems.append(
                    "spec.trialTemplate.trialSpec.kind: local mode runs batch/v1 Jobs, "
                    f"not {kind!r}"
                )
            elif template.primary_container() is None:
                problems.append(
                    "spec.trialTemplate.primaryContainerName: no container named "
                    f"{template.primary_container_name!r} in "
                    "trialSpec.spec.template.spec.containers"
                )
        if self.metrics_collector.kind not in LOCAL_KINDS:
            problems.append(
                f"spec.metricsCollectorSpec.collector.kind: {self.metrics_collector.kind} is not "
                "collected locally (use StdOut, File or Push)"
            )
        if self.nas_config is None and self.algorithm.name in ENAS_ALGORITHMS:
            problems.append("spec.nasConfig: the ENAS algorithm needs a nasConfig")
        return problems

    def settings(self) -> EnasSettings:
        """The algorithm settings as the suggestion service parses them."""
        return parse_settings(self.algorithm.settings, self.name)

    def search_space(self) -> Space[Any] | None:
        """The parsed ENAS search space (None without nasConfig or for another algorithm)."""
        if self.nas_config is None or self.algorithm.name not in ENAS_ALGORITHMS:
            return None
        return parse_space(self.nas_config, self.settings())


def _dig(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
