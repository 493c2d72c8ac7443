"""Katib rules its own webhook tests leave out (the issue's examples, each with its source),
and where we are deliberately stricter than Katib: it admits those, we refuse them, and the
message says "Katib accepts this, but ...". Verdicts as in test_experiment_katib_webhook_table."""

from __future__ import annotations

import pytest
from experiment_cases import (
    POD,
    SOURCE,
    Case,
    both,
    collector,
    drop,
    job,
    judge,
    ok,
    put,
    refused,
    stricter,
    with_job_spec,
)

# The examples that are Katib rules but not Katib test cases, each with its source.
DERIVED: list[Case] = [
    Case(
        "experiment_defaults.go setDefaultParallelTrialCount: maxTrialCount 2, no "
        "parallelTrialCount (default 3 > 2)",
        "enas",
        both(
            put("spec.maxTrialCount", 2),
            drop("spec.parallelTrialCount"),
            drop("spec.maxFailedTrialCount"),
        ),
        refused("spec.parallelTrialCount"),
    ),
    Case(
        "experiment_defaults.go setDefaultMetricsCollector: File collector without source",
        "enas",
        put("spec.metricsCollectorSpec", collector("File")),
        ok(),
    ),
    Case(
        "validator.go validateMetricsCollector: kind None (removed from Katib)",
        "enas",
        put("spec.metricsCollectorSpec", collector("None")),
        refused("spec.metricsCollectorSpec.collector.kind"),
    ),
    Case(
        "validator.go validateMetricsCollector: collector given without kind",
        "enas",
        put("spec.metricsCollectorSpec", {"collector": {}}),
        refused("spec.metricsCollectorSpec.collector.kind"),
    ),
    Case(
        "validator.go validateTrialTemplate: trialParameters: [] is not nil",
        "enas",
        with_job_spec(
            job("""
             apiVersion: batch/v1
             kind: Job
             spec:
               template:
                 spec: {containers: [{name: training-container, image: i}], restartPolicy: Never}
             """)
        ),
        ok(),
    ),
    Case(
        "validatePatchJob: an empty optional list is dropped by the Job round trip",
        "enas",
        put(f"{POD}.spec.containers.0.args", []),
        refused("spec.trialTemplate.trialSpec.spec.template.spec.containers[0].args"),
    ),
    Case(
        "validatePatchJob: a misspelt container field",
        "enas",
        put(f"{POD}.spec.containers.0.imagePullPolcy", "Always"),
        refused("spec.trialTemplate.trialSpec.spec.template.spec.containers[0].imagePullPolcy"),
    ),
    Case(
        "validatePatchJob: resources: {} and creationTimestamp: null survive",
        "enas",
        both(
            put(f"{POD}.spec.containers.0.resources", {}),
            put(f"{POD}.metadata", {"creationTimestamp": None}),
        ),
        ok(),
    ),
    Case(
        "webhook decoding: a number where Katib's type is a string",
        "enas",
        put("spec.nasConfig.operations.0.parameters.0.feasibleSpace.list", [3, 5]),
        refused("spec.nasConfig.operations[0].parameters[0].feasibleSpace.list[0]"),
    ),
    Case(
        "webhook decoding: trialSpec without kind",
        "enas",
        drop("spec.trialTemplate.trialSpec.kind"),
        refused("spec.trialTemplate.trialSpec.kind"),
    ),
    Case(
        "webhook decoding: a setting's value must be a string",
        "enas",
        put("spec.algorithm.algorithmSettings.0.value", 1),
        refused("spec.algorithm.algorithmSettings[0].value"),
    ),
]

# Where we are deliberately stricter than Katib (it admits these; the message says so).
STRICTER: list[Case] = [
    Case(
        "unknown field (Katib drops it)",
        "enas",
        put("spec.paralelTrialCount", 2),
        stricter("spec.paralelTrialCount"),
    ),
    Case(
        "name with a dot (the suggestion Service needs a DNS label)",
        "enas",
        put("metadata.name", "enas.digits"),
        stricter("metadata.name"),
    ),
    Case(
        "StdOut filter with one group (Katib does not check StdOut filters)",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("StdOut", {"filter": {"metricsFormat": ["([a-z]+)=[0-9.]+"]}}),
        ),
        stricter(f"{SOURCE}.filter.metricsFormat[0]"),
    ),
    Case(
        "File filter with two bracket pairs but one capturing group",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("File", {"filter": {"metricsFormat": ["(?:[a-z]+)=([0-9.]+)"]}}),
        ),
        stricter(f"{SOURCE}.filter.metricsFormat[0]"),
    ),
    Case(
        "metricStrategies value other than min, max, latest",
        "enas",
        put("spec.objective.metricStrategies", [{"name": "Validation-Accuracy", "value": "mean"}]),
        stricter("spec.objective.metricStrategies[0].value"),
    ),
    Case(
        "metricStrategies for a metric the objective lacks",
        "enas",
        put("spec.objective.metricStrategies", [{"name": "loss", "value": "min"}]),
        stricter("spec.objective.metricStrategies[0].name"),
    ),
    Case(
        "an algorithm setting given twice",
        "enas",
        put("spec.algorithm.algorithmSettings", [{"name": "seed", "value": "1"}] * 2),
        stricter("spec.algorithm.algorithmSettings[1].name"),
    ),
    Case(
        "categorical parameter with an empty list",
        "hp",
        put("spec.parameters.1.feasibleSpace.list", []),
        stricter("spec.parameters[1].feasibleSpace.list"),
    ),
    Case(
        "an algorithm name that is not a DNS label (enas_torch)",
        "enas",
        put("spec.algorithm.algorithmName", "enas_torch"),
        stricter("spec.algorithm.algorithmName"),
    ),
    Case(
        "a near miss of a known algorithm name",
        "enas",
        put("spec.algorithm.algorithmName", "enas-torc"),
        stricter("spec.algorithm.algorithmName"),
    ),
    Case(
        "primaryContainerName naming no container of the trial",
        "enas",
        put("spec.trialTemplate.primaryContainerName", "trainer"),
        stricter("spec.trialTemplate.primaryContainerName"),
    ),
    Case(
        "an objective metric enas-trial never prints",
        "enas",
        put("spec.objective.objectiveMetricName", "val_accuracy"),
        stricter("spec.objective.objectiveMetricName"),
    ),
    Case(
        "an additional metric enas-trial never prints",
        "enas",
        put("spec.objective.additionalMetricNames", ["test_accuracy"]),
        stricter("spec.objective.additionalMetricNames[0]"),
    ),
    Case(
        "nasConfig without operations",
        "enas",
        put("spec.nasConfig.operations", []),
        stricter("spec.nasConfig.operations"),
    ),
]


@pytest.mark.parametrize("case", DERIVED, ids=[c.katib for c in DERIVED])
def test_katib_rule_beyond_its_tests(case: Case) -> None:
    judge(case)


@pytest.mark.parametrize("case", STRICTER, ids=[c.katib for c in STRICTER])
def test_deliberately_stricter(case: Case) -> None:
    judge(case)
