"""Katib Experiment YAMLs in local mode, checked as a Katib v0.19 cluster checks them.

`loading` runs the stages in the cluster's order: the shape (`shape`, `types`), Katib's
defaulting (`defaults`) and validating webhook (`webhook`, `template_rules`,
`collector_rules`), our stricter rules (`strict_rules`), then builds the model (`model`,
`specs`, `nas`); `cluster_checks` names what only the cluster can check. Import the public
names from here.
"""

from katib_enas.local.experiment.fields import InvalidExperimentError
from katib_enas.local.experiment.loading import (
    Checked,
    check_document,
    check_file,
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
    "Checked",
    "Experiment",
    "InvalidExperimentError",
    "MetricsCollector",
    "TrialParameter",
    "TrialTemplate",
    "check_document",
    "check_file",
    "experiment_from_dict",
    "load_experiment",
    "parse_experiment",
]
