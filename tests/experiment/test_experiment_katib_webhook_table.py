"""Katib v0.19's own webhook test table, applied after Katib's defaulting, with our verdicts.

Each case names the Katib test case it comes from (`TestValidate...` / its description in
pkg/webhook/v1beta1/experiment/validator/validator_test.go); the YAML changes are ours. Katib's
tests call the validator without the defaulting webhook that runs before it on a cluster; the
verdicts here are Katib's after defaulting (pkg/apis/controller/experiments/v1beta1/
experiment_defaults.go), which is what `kubectl apply` meets. Where that changes the outcome of
a Katib case, the case says so. Verdicts:

- `ok`: Katib admits it and so do we;
- `refused(path)`: Katib refuses it, and so do we, naming `path` (or a field below it);
- `cluster(note)`: Katib decides with something from the cluster (katib-config, a ConfigMap,
  the existing Experiment); we admit it and name that check in a note;
- `stricter(path)`: Katib admits it, we refuse it on purpose, and the message says so.
"""

from __future__ import annotations

import pytest
from experiment_cases import (
    COMMAND,
    CONFIG_MAP,
    SOURCE,
    TRIAL_PARAMETERS,
    Case,
    append,
    both,
    cluster,
    collector,
    drop,
    job,
    judge,
    keep,
    ok,
    put,
    refused,
    stricter,
    with_job_spec,
)

CASES: list[Case] = [
    # --- TestValidateExperiment ------------------------------------------------------------------
    Case(
        "TestValidateExperiment: Name is invalid (1234-test)",
        "enas",
        put("metadata.name", "1234-test"),
        refused("metadata.name"),
    ),
    Case(
        "TestValidateExperiment: Name is invalid (longer than 40)",
        "enas",
        put("metadata.name", "test-manymanymanyextracharactersthatgobeyondlimit"),
        refused("metadata.name"),
    ),
    Case(
        "TestValidateExperiment: Objective is nil",
        "enas",
        drop("spec.objective"),
        refused("spec.objective"),
    ),
    Case(
        "TestValidateExperiment: Objective type is unknown",
        "enas",
        drop("spec.objective.type"),
        refused("spec.objective.type"),
    ),
    Case(
        "TestValidateExperiment: Objective metric name is empty",
        "enas",
        put("spec.objective.objectiveMetricName", ""),
        refused("spec.objective.objectiveMetricName"),
    ),
    Case(
        "TestValidateExperiment: additionalMetricNames should not contain objective metric name",
        "enas",
        put("spec.objective.additionalMetricNames", ["Validation-Accuracy", "loss"]),
        refused("spec.objective.additionalMetricNames"),
    ),
    Case(
        "TestValidateExperiment: Algorithm is nil",
        "enas",
        drop("spec.algorithm"),
        refused("spec.algorithm"),
    ),
    Case(
        "TestValidateExperiment: Algorithm name is empty",
        "enas",
        put("spec.algorithm.algorithmName", ""),
        refused("spec.algorithm.algorithmName"),
    ),
    Case("TestValidateExperiment: EarlyStopping is nil", "hp", drop("spec.earlyStopping"), ok()),
    Case(
        "TestValidateExperiment: EarlyStopping AlgorithmName is empty",
        "hp",
        put("spec.earlyStopping.algorithmName", ""),
        refused("spec.earlyStopping.algorithmName"),
    ),
    Case("TestValidateExperiment: Run validator for correct experiment", "hp", keep, ok()),
    Case("TestValidateExperiment: Run validator for correct experiment (ENAS)", "enas", keep, ok()),
    Case(
        "TestValidateExperiment: Max failed trial count is negative",
        "enas",
        put("spec.maxFailedTrialCount", -1),
        refused("spec.maxFailedTrialCount"),
    ),
    Case(
        "TestValidateExperiment: Max trial count is negative",
        "enas",
        put("spec.maxTrialCount", -1),
        refused("spec.maxTrialCount"),
    ),
    Case(
        "TestValidateExperiment: Parallel trial count is negative",
        "enas",
        put("spec.parallelTrialCount", -1),
        refused("spec.parallelTrialCount"),
    ),
    Case(
        "TestValidateExperiment: Run validator to correct resume experiment",
        "enas",
        keep,
        cluster("already exists"),
    ),
    Case(
        "TestValidateExperiment: Resume succeeded experiment with ResumePolicy = NeverResume",
        "enas",
        put("spec.resumePolicy", "Never"),
        cluster("restarts only with resumePolicy"),
    ),
    Case(
        "TestValidateExperiment: Resume experiment with MaxTrialCount <= Status.Trials",
        "enas",
        keep,
        cluster("maxTrialCount must exceed the trials run"),
    ),
    Case(
        "TestValidateExperiment: Change algorithm name when resuming experiment",
        "enas",
        keep,
        cluster("only parallelTrialCount, maxTrialCount and maxFailedTrialCount may change"),
    ),
    Case(
        "TestValidateExperiment: Invalid resume policy",
        "enas",
        put("spec.resumePolicy", "invalid-policy"),
        refused("spec.resumePolicy"),
    ),
    Case(
        "TestValidateExperiment: Parameters and NAS config is nil",
        "enas",
        drop("spec.nasConfig"),
        refused("spec"),
    ),
    Case(
        "TestValidateExperiment: Parameters and NAS config is not nil",
        "hp",
        put("spec.nasConfig", {"operations": [{"operationType": "op1"}]}),
        refused("spec"),
    ),
    Case(
        "TestValidateExperiment: Trial template is nil",
        "enas",
        drop("spec.trialTemplate"),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateExperiment: Invalid feasible space in parameters",
        "hp",
        put("spec.parameters.1.feasibleSpace.max", "5"),
        refused("spec.parameters[1].feasibleSpace"),
    ),
    Case(
        "TestValidateExperiment: maxFailedTrialCount greater than maxTrialCount",
        "enas",
        both(put("spec.maxTrialCount", 5), put("spec.maxFailedTrialCount", 6)),
        refused("spec.maxFailedTrialCount"),
    ),
    Case(
        "TestValidateExperiment: maxFailedTrialCount equal to maxTrialCount",
        "enas",
        both(put("spec.maxTrialCount", 5), put("spec.maxFailedTrialCount", 5)),
        ok(),
    ),
    Case(
        "TestValidateExperiment: parallelTrialCount greater than maxTrialCount",
        "enas",
        both(put("spec.maxTrialCount", 5), put("spec.parallelTrialCount", 6)),
        refused("spec.parallelTrialCount"),
    ),
    Case(
        "TestValidateExperiment: parallelTrialCount equal to maxTrialCount",
        "enas",
        both(put("spec.maxTrialCount", 5), put("spec.parallelTrialCount", 5)),
        ok(),
    ),
    # --- TestValidateParameters ------------------------------------------------------------------
    Case(
        "TestValidateParameters: Invalid parameter type",
        "hp",
        put("spec.parameters.0.parameterType", "invalid-type"),
        refused("spec.parameters[0].parameterType"),
    ),
    # Katib's test calls the validator without defaults; the default distribution makes the
    # space non-empty, so a cluster refuses it for the missing min and max instead.
    Case(
        "TestValidateParameters: Feasible space is nil",
        "hp",
        put("spec.parameters.0.feasibleSpace", {}),
        refused("spec.parameters[0].feasibleSpace"),
    ),
    Case(
        "TestValidateParameters: Not empty list for int parameter type",
        "hp",
        put("spec.parameters.0.feasibleSpace.list", ["invalid-list"]),
        refused("spec.parameters[0].feasibleSpace.list"),
    ),
    Case(
        "TestValidateParameters: Empty max and min for int parameter type",
        "hp",
        put("spec.parameters.0.feasibleSpace", {"max": "", "min": "", "step": "1"}),
        refused("spec.parameters[0].feasibleSpace.max"),
    ),
    Case(
        "TestValidateParameters: Not empty max for categorical parameter type",
        "hp",
        put("spec.parameters.1.feasibleSpace.max", "1"),
        refused("spec.parameters[1].feasibleSpace"),
    ),
    Case(
        "TestValidateParameters: Invalid distribution type",
        "hp",
        put("spec.parameters.0.feasibleSpace.distribution", "invalid-distribution"),
        refused("spec.parameters[0].feasibleSpace.distribution"),
    ),
    Case("TestValidateParameters: Valid parameters case", "hp", keep, ok()),
    # --- TestValidateTrialTemplate ---------------------------------------------------------------
    Case(
        "TestValidateTrialTemplate: Trial parameters is nil",
        "hp",
        drop(TRIAL_PARAMETERS),
        refused("spec.trialTemplate.trialParameters"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial spec nil",
        "hp",
        drop("spec.trialTemplate.trialSpec"),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial spec and ConfigMap is not nil",
        "hp",
        put("spec.trialTemplate.configMap", CONFIG_MAP),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Missed template path in ConfigMap",
        "hp",
        both(
            drop("spec.trialTemplate.trialSpec"),
            put("spec.trialTemplate.configMap", {**CONFIG_MAP, "templatePath": ""}),
        ),
        refused("spec.trialTemplate.configMap"),
    ),
    Case(
        "TestValidateTrialTemplate: Wrong template path in ConfigMap",
        "hp",
        both(
            drop("spec.trialTemplate.trialSpec"),
            put("spec.trialTemplate.configMap", {**CONFIG_MAP, "templatePath": "wrong-path"}),
        ),
        cluster("holds the template at 'wrong-path'"),
    ),
    Case(
        "TestValidateTrialTemplate: Empty reference or name in Trial parameters",
        "hp",
        put(f"{TRIAL_PARAMETERS}.0.reference", ""),
        refused("spec.trialTemplate.trialParameters[0]"),
    ),
    Case(
        "TestValidateTrialTemplate: Wrong name in Trial parameters",
        "hp",
        put(f"{TRIAL_PARAMETERS}.0.name", "{invalid-name}"),
        refused("spec.trialTemplate.trialParameters[0]"),
    ),
    Case(
        "TestValidateTrialTemplate: Duplicate name in Trial parameters",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.name", "learningRate"),
        refused("spec.trialTemplate.trialParameters[1].name"),
    ),
    Case(
        "TestValidateTrialTemplate: Duplicate reference in Trial parameters",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.reference", "lr"),
        refused("spec.trialTemplate.trialParameters[1].reference"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial parameters which weren't "
        "referenced from spec.parameters",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.reference", "wrong-ref"),
        refused("spec.trialTemplate.trialParameters[1].reference"),
    ),
    # Without spec.parameters (NAS) Katib checks no reference. With a non-ENAS NAS algorithm we
    # do not know the assignments either; with ENAS we do, and refuse on purpose.
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial parameters when "
        "spec.parameters is empty (darts)",
        "enas",
        both(
            put("spec.algorithm", {"algorithmName": "darts"}),
            put(f"{TRIAL_PARAMETERS}.1.reference", "wrong-ref"),
        ),
        ok(),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial parameters when "
        "spec.parameters is empty (ENAS)",
        "enas",
        put(f"{TRIAL_PARAMETERS}.1.reference", "wrong-ref"),
        stricter("spec.trialTemplate.trialParameters[1].reference"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial metadata reference as parameter",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.reference", "${trialSpec.Name}"),
        ok(),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial annotation reference as "
        "parameter",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.reference", "${trialSpec.Annotations[test-annotation]}"),
        ok(),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains Trial's label reference as parameter",
        "hp",
        put(f"{TRIAL_PARAMETERS}.1.reference", "${trialSpec.Labels[test-label]}"),
        ok(),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template doesn't contain parameter from Trial parameters",
        "hp",
        put(f"{COMMAND}.2", "--lr=${trialParameters.invalidParameter}"),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains extra parameter",
        "hp",
        append(COMMAND, "--extra-parameter=${trialParameters.extraParameter}"),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template is unable to convert to unstructured after "
        "substitution",
        "hp",
        put(
            COMMAND,
            [
                "--invalidParameter={'num_layers': 2, 'input_sizes': [32, 32, 3]}",
                '--lr=${trialParameters.learningRate}"',
                "--num-layers=${trialParameters.numberLayers}",
            ],
        ),
        refused("spec.trialTemplate.trialParameters[1].name"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template contains metadata.name or metadata.namespace",
        "enas",
        put(
            "spec.trialTemplate.trialSpec.metadata",
            {"name": "trial-name", "namespace": "trial-namespace"},
        ),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template doesn't contain APIVersion or Kind",
        "enas",
        drop("spec.trialTemplate.trialSpec.apiVersion"),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template has custom Kind",
        "hp",
        put("spec.trialTemplate.trialSpec.kind", "CustomKind"),
        cluster("the CRD of CustomKind (batch/v1) is installed"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template doesn't have PrimaryContainerName",
        "enas",
        drop("spec.trialTemplate.primaryContainerName"),
        refused("spec.trialTemplate.primaryContainerName"),
    ),
    # Katib's test leaves out the defaulting webhook, which fills in a Job's conditions.
    Case(
        "TestValidateTrialTemplate: Trial template doesn't have SuccessCondition (a Job, "
        "defaulted)",
        "hp",
        drop("spec.trialTemplate.successCondition"),
        ok(),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template doesn't have SuccessCondition (custom kind: "
        "no default)",
        "hp",
        both(
            drop("spec.trialTemplate.successCondition"),
            put("spec.trialTemplate.trialSpec.kind", "CustomKind"),
        ),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialTemplate: Trial template doesn't have SuccessCondition (ConfigMap: "
        "no default)",
        "hp",
        both(
            drop("spec.trialTemplate.trialSpec"),
            drop("spec.trialTemplate.successCondition"),
            drop("spec.trialTemplate.failureCondition"),
            put("spec.trialTemplate.configMap", CONFIG_MAP),
        ),
        refused("spec.trialTemplate"),
    ),
    # --- TestValidateTrialJob --------------------------------------------------------------------
    Case(
        "TestValidateTrialJob: Trial template has invalid Batch Job parameter",
        "enas",
        with_job_spec(
            job("""
             apiVersion: batch/v1
             kind: Job
             spec: {template: {spec: {containers: {name: container-must-be-list}}}}""")
        ),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialJob: Trial template has invalid Batch Job structure",
        "enas",
        with_job_spec(
            job("""
             apiVersion: batch/v1
             kind: Job
             spec:
               template:
                 invalidSpec: not-job-format
                 spec: {containers: [{name: invalid-list}]}""")
        ),
        refused("spec.trialTemplate"),
    ),
    Case(
        "TestValidateTrialJob: Valid case with nvidia.com/gpu resource in Trial template",
        "enas",
        with_job_spec(
            job("""
             apiVersion: batch/v1
             kind: Job
             spec:
               template:
                 spec:
                   containers:
                     - resources:
                         limits: {nvidia.com/gpu: 1}
                         requests: {nvidia.com/gpu: 1}""")
        ),
        ok(),
    ),
    Case(
        "TestValidateTrialJob: Only validate Kuernetes Job",
        "enas",
        with_job_spec(
            job("""
             apiVersion: test/v1
             kind: Job
             spec: {template: {spec: {containers: [{name: training-container}]}}}""")
        ),
        # The container is named as the template's primaryContainerName (Katib's case names it
        # `container`, which we refuse: see the primaryContainerName row of STRICTER).
        cluster("the CRD of Job (test/v1) is installed"),
    ),
    # --- TestValidateMetricsCollector ------------------------------------------------------------
    Case(
        "TestValidateMetricsCollector: Invalid metrics collector Kind",
        "enas",
        put("spec.metricsCollectorSpec", collector("invalid-kind")),
        refused("spec.metricsCollectorSpec.collector.kind"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid path for File metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("File", {"fileSystemPath": {"path": "not/absolute/path", "format": "TEXT"}}),
        ),
        refused(f"{SOURCE}.fileSystemPath.path"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid path for TF event metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("TensorFlowEvent", {"fileSystemPath": {"path": "not/absolute/path"}}),
        ),
        refused(SOURCE),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid file format for TF event metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "TensorFlowEvent",
                {
                    "fileSystemPath": {
                        "path": "/absolute/path",
                        "format": "JSON",
                        "kind": "Directory",
                    }
                },
            ),
        ),
        refused(f"{SOURCE}.fileSystemPath.format"),
    ),
    # Katib's IntOrString{StrVal: "Port"} is the integer 0 (its Type is Int): after defaulting
    # that is port 8080 and path /metrics, which Katib admits. The string port it meant is not.
    Case(
        "TestValidateMetricsCollector: Invalid port and path for Prometheus metrics collector "
        "(as written: port 0, defaulted)",
        "enas",
        put("spec.metricsCollectorSpec", collector("PrometheusMetric", {"httpGet": {"port": 0}})),
        ok(),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid port and path for Prometheus metrics collector "
        "(as meant: port 'Port')",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("PrometheusMetric", {"httpGet": {"port": "Port"}}),
        ),
        refused(f"{SOURCE}.httpGet.port"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid path for Prometheus metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector("PrometheusMetric", {"httpGet": {"port": 8888, "path": "not/valid/path"}}),
        ),
        refused(f"{SOURCE}.httpGet.path"),
    ),
    Case(
        "TestValidateMetricsCollector: Empty container for Custom metrics collector",
        "enas",
        put("spec.metricsCollectorSpec", collector("Custom")),
        refused("spec.metricsCollectorSpec.collector.customCollector"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid path for Custom metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "Custom",
                {"fileSystemPath": {"path": "not/absolute/path"}},
                customCollector={"name": "my-collector"},
            ),
        ),
        refused(f"{SOURCE}.fileSystemPath"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid metrics format regex for File metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "File",
                {
                    "filter": {"metricsFormat": ["["]},
                    "fileSystemPath": {"path": "/absolute/path", "kind": "File", "format": "TEXT"},
                },
            ),
        ),
        refused(f"{SOURCE}.filter.metricsFormat"),
    ),
    Case(
        "TestValidateMetricsCollector: One subexpression in metrics format",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "File",
                {
                    "filter": {"metricsFormat": ["{metricName: ([\\w|-]+)}"]},
                    "fileSystemPath": {"path": "/absolute/path", "kind": "File", "format": "TEXT"},
                },
            ),
        ),
        refused(f"{SOURCE}.filter.metricsFormat"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid file format for File metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "File",
                {"fileSystemPath": {"path": "/absolute/path", "kind": "File", "format": "invalid"}},
            ),
        ),
        refused(f"{SOURCE}.fileSystemPath.format"),
    ),
    Case(
        "TestValidateMetricsCollector: Invalid metrics filer for File metrics collector when "
        "file format is `JSON`",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "File",
                {
                    "filter": {},
                    "fileSystemPath": {"path": "/absolute/path", "kind": "File", "format": "JSON"},
                },
            ),
        ),
        refused(f"{SOURCE}.filter"),
    ),
    Case(
        "TestValidateMetricsCollector: Run validator for correct File metrics collector",
        "enas",
        put(
            "spec.metricsCollectorSpec",
            collector(
                "File",
                {"fileSystemPath": {"path": "/absolute/path", "kind": "File", "format": "JSON"}},
            ),
        ),
        ok(),
    ),
    # --- TestValidateConfigData: katib-config lives in the cluster -------------------------------
    Case(
        "TestValidateConfigData: Get metrics collector config data error",
        "enas",
        keep,
        cluster("katib-config has a metrics collector sidecar for StdOut"),
    ),
    Case(
        "TestValidateConfigData: Get early stopping config data error",
        "hp",
        keep,
        cluster("katib-config has an early stopping entry for 'test'"),
    ),
    Case(
        "TestValidateConfigData: Get suggestion config data error",
        "enas",
        keep,
        cluster("katib-config has a suggestion for 'enas-torch'"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.katib for c in CASES])
def test_katib_webhook_case(case: Case) -> None:
    judge(case)


# Distinct testDescriptions per test function of Katib v0.19's validator_test.go (76 cases;
# "Name is invalid" is used twice). Variants here share the description before " (".
KATIB_DESCRIPTIONS = {
    "TestValidateExperiment": 26,
    "TestValidateParameters": 7,
    "TestValidateTrialTemplate": 22,
    "TestValidateTrialJob": 4,
    "TestValidateMetricsCollector": 13,
    "TestValidateConfigData": 3,
}


def test_table_covers_every_katib_case() -> None:
    described: dict[str, set[str]] = {}
    for case in CASES:
        function, description = case.katib.split(": ", 1)
        described.setdefault(function, set()).add(description.split(" (")[0])
    assert {f: len(d) for f, d in described.items()} == KATIB_DESCRIPTIONS
    # The one deliberate difference among Katib's own cases: ENAS trialParameter references.
    assert [c.katib for c in CASES if c.expect.verdict == "stricter"] == [
        "TestValidateTrialTemplate: Trial template contains Trial parameters when "
        "spec.parameters is empty (ENAS)"
    ]
