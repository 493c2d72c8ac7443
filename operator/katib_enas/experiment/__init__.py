"""Katib Experiment YAMLs, checked as a Katib v0.19 cluster checks them: the model every reader
of an Experiment shares (the runner, the commands, the analysis), pure (no torch, gRPC,
protobuf or Kubernetes client).

`loading` runs the stages in the cluster's order: the shape (`shape`, `types`), Katib's
defaulting (`defaults`) and validating webhook (`webhook`, `template_rules`,
`collector_rules`), our stricter rules (`strict_rules`), then builds the model (`model`,
`specs`, `nas`); `cluster_checks` names what only the cluster can check. Beside the model,
Katib's rules that read it: `substitution` (trial parameters into the trial template),
`containers` (the primary container), `metric_logs` (a trial's output as metric logs and one
observation), `optimal` (which trial is best: the Experiment's currentOptimalTrial). Import the
model's public names from here.
"""

from katib_enas.experiment.fields import InvalidExperimentError
from katib_enas.experiment.loading import (
    Checked,
    check_document,
    check_file,
    experiment_from_dict,
    load_experiment,
    parse_experiment,
)
from katib_enas.experiment.model import (
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
