"""Katib Experiment YAMLs in local mode: the model (`model`), loading with Katib's defaults and
checks (`loading`, `specs`, `nas`, `fields`). Import the public names from here."""

from katib_enas.local.experiment.fields import InvalidExperimentError
from katib_enas.local.experiment.loading import (
    experiment_from_dict,
    load_experiment,
    parse_experiment,
)
from katib_enas.local.experiment.model import (
    ENAS_ALGORITHMS,
    Algorithm,
    Experiment,
    MetricsCollector,
    TrialParameter,
    TrialTemplate,
)

__all__ = [
    "ENAS_ALGORITHMS",
    "Algorithm",
    "Experiment",
    "InvalidExperimentError",
    "MetricsCollector",
    "TrialParameter",
    "TrialTemplate",
    "experiment_from_dict",
    "load_experiment",
    "parse_experiment",
]
