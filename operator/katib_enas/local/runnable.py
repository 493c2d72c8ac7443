"""Whether an Experiment can run on one machine: the runner's own limits, not Katib's rules.

Katib admits Experiments this runner cannot play (another algorithm without a service to ask,
a ConfigMap template, a TFJob, a collector kind with no local counterpart); `validate` and `run`
list why, from here. The collector kinds come from the collectors' registry.
"""

from __future__ import annotations

from katib_enas.experiment import ENAS_ALGORITHMS, Experiment
from katib_enas.local.collectors import LOCAL_KINDS


def local_problems(experiment: Experiment, *, remote_suggestion: bool = False) -> list[str]:
    """Why this experiment cannot run on one machine (empty: it can).

    Without a remote suggestion service (`--suggestion-address`) only our ENAS service runs.
    """
    problems = []
    if not remote_suggestion and experiment.algorithm.name not in ENAS_ALGORITHMS:
        problems.append(
            f"spec.algorithm.algorithmName: the built-in suggestion service runs "
            f"enas-torch (or enas), not {experiment.algorithm.name!r}; give --suggestion-address "
            "for another service"
        )
    template = experiment.trial_template
    if template.trial_spec is None:
        problems.append(
            "spec.trialTemplate.configMap: local mode needs the trial spec inline "
            "(spec.trialTemplate.trialSpec)"
        )
    else:
        kind = template.trial_spec.get("kind")
        if kind != "Job":
            problems.append(
                f"spec.trialTemplate.trialSpec.kind: local mode runs batch/v1 Jobs, not {kind!r}"
            )
        elif template.primary_container() is None:
            problems.append(
                "spec.trialTemplate.primaryContainerName: no container named "
                f"{template.primary_container_name!r} in "
                "trialSpec.spec.template.spec.containers"
            )
    if experiment.metrics_collector.kind not in LOCAL_KINDS:
        problems.append(
            f"spec.metricsCollectorSpec.collector.kind: {experiment.metrics_collector.kind} is not "
            "collected locally (use StdOut, File or Push)"
        )
    if experiment.nas_config is None and experiment.algorithm.name in ENAS_ALGORITHMS:
        problems.append("spec.nasConfig: the ENAS algorithm needs a nasConfig")
    return problems
