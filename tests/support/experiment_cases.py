"""Test support: Experiment variants and the verdict `validate` gives them, for the tables of
Katib's webhook cases (`tests/experiment/test_experiment_katib_webhook_table.py`) and of the
rules beyond them (`tests/experiment/test_experiment_rules.py`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from katib_enas.experiment import (
    ENAS_ALGORITHMS,
    InvalidExperimentError,
    check_document,
)
from katib_enas.local import preflight

Doc = dict[str, Any]
DIGITS = Path(__file__).resolve().parents[2] / "manifests" / "local" / "digits.yaml"

# Katib's newFakeInstance() as YAML: a hyperparameter Experiment with a batch Job template.
HP_BASE = """
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: fake, namespace: fakens}
spec:
  maxTrialCount: 6
  metricsCollectorSpec: {collector: {kind: StdOut}}
  objective: {type: maximize, goal: 0.11, objectiveMetricName: testme}
  algorithm:
    algorithmName: test
    algorithmSettings: [{name: test1, value: value1}]
  earlyStopping:
    algorithmName: test
    algorithmSettings: [{name: test1, value: value1}]
  parameters:
    - name: lr
      parameterType: int
      feasibleSpace: {max: "5", min: "1", distribution: uniform}
    - name: momentum
      parameterType: categorical
      feasibleSpace: {list: ["0.95", "0.85", "0.75"]}
  trialTemplate:
    primaryContainerName: training-container
    successCondition: status.conditions.#(type=="Complete")#|#(status=="True")#
    failureCondition: status.conditions.#(type=="Failed")#|#(status=="True")#
    trialParameters:
      - {name: learningRate, description: Learning rate, reference: lr}
      - {name: momentum, description: Momentum for the training model, reference: momentum}
    trialSpec: &job
      apiVersion: batch/v1
      kind: Job
      spec:
        template:
          spec:
            containers:
              - name: training-container
                image: ghcr.io/kubeflow/katib/pytorch-mnist-cpu
                command:
                  - python3
                  - --epochs=1
                  - --batch-size=16
                  - /opt/pytorch-mnist/mnist.py
                  - --lr=${trialParameters.learningRate}
                  - --momentum=${trialParameters.momentum}
"""


@dataclass(frozen=True)
class Expect:
    verdict: str  # ok, refused, cluster, stricter
    detail: str = ""  # the path a refusal names, or the words of a cluster note


def ok() -> Expect:
    return Expect("ok")


def refused(path: str) -> Expect:
    return Expect("refused", path)


def cluster(note: str) -> Expect:
    return Expect("cluster", note)


def stricter(path: str) -> Expect:
    return Expect("stricter", path)


@dataclass(frozen=True)
class Case:
    katib: str  # "TestValidateX: description" of validator_test.go, or the rule's source
    base: str  # "hp" (Katib's fake instance) or "enas" (our digits Experiment)
    change: Callable[[Doc], None]
    expect: Expect


def _get(doc: Doc, path: str) -> Any:
    target: Any = doc
    for key in path.split("."):
        target = target[int(key)] if isinstance(target, list) else target[key]
    return target


def put(path: str, value: object) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        parent, _, key = path.rpartition(".")
        target = _get(doc, parent) if parent else doc
        if isinstance(target, list):
            target[int(key)] = copy.deepcopy(value)
        else:
            target[key] = copy.deepcopy(value)

    return change


def append(path: str, value: object) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        _get(doc, path).append(value)

    return change


def drop(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        parent, _, key = path.rpartition(".")
        _get(doc, parent).pop(key)

    return change


def both(*changes: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        for one in changes:
            one(doc)

    return change


def keep(doc: Doc) -> None:
    """No change: the base as it is."""


COMMAND = "spec.trialTemplate.trialSpec.spec.template.spec.containers.0.command"
POD = "spec.trialTemplate.trialSpec.spec.template"
SOURCE = "spec.metricsCollectorSpec.source"
CONFIG_MAP = {
    "configMapName": "config-map-name",
    "configMapNamespace": "config-map-namespace",
    "templatePath": "config-map-template-path",
}


def job(yaml_text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(yaml_text)
    assert isinstance(loaded, dict)
    return loaded


def collector(kind: str, source: dict[str, Any] | None = None, **extra: Any) -> Doc:
    spec: Doc = {"collector": {"kind": kind, **extra}}
    if source is not None:
        spec["source"] = source
    return spec


def with_job_spec(trial_spec: dict[str, Any]) -> Callable[[Doc], None]:
    """Katib's TestValidateTrialJob templates have no placeholders: no trialParameters either."""
    return both(put("spec.trialTemplate.trialSpec", trial_spec), put(TRIAL_PARAMETERS, []))


TRIAL_PARAMETERS = "spec.trialTemplate.trialParameters"


def base(kind: str) -> Doc:
    loaded = yaml.safe_load(DIGITS.read_text(encoding="utf-8") if kind == "enas" else HP_BASE)
    assert isinstance(loaded, dict)
    return loaded


def verdict(doc: Doc) -> tuple[str | None, tuple[str, ...]]:
    """What `validate` says: the refusal, or None and the cluster notes."""
    try:
        checked = check_document(doc)
        if checked.experiment.algorithm.name in ENAS_ALGORITHMS:
            preflight.validate_settings(checked.experiment)
    except InvalidExperimentError as error:
        return str(error), ()
    return None, checked.cluster_notes


def judge(case: Case) -> None:
    doc = base(case.base)
    case.change(doc)
    error, notes = verdict(doc)
    expect = case.expect
    if expect.verdict in ("ok", "cluster"):
        assert error is None, f"{case.katib}: expected valid, got {error}"
        if expect.verdict == "cluster":
            assert any(expect.detail in note for note in notes), (case.katib, notes)
        return
    assert error is not None, f"{case.katib}: expected a refusal naming {expect.detail}"
    assert error.startswith(expect.detail), (case.katib, error)
    assert "\n" not in error
    said_katib_accepts = "Katib accepts this" in error
    assert said_katib_accepts == (expect.verdict == "stricter"), (case.katib, error)
